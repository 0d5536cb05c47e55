-- AlterTable
ALTER TABLE "sessions" ADD COLUMN "lastCompletedCommandId" TEXT;
ALTER TABLE "sessions" ADD COLUMN "runningCommandId" TEXT;

