-- AlterTable
ALTER TABLE "sessions" ADD COLUMN     "lastCompletedCommandId" TEXT,
ADD COLUMN     "runningCommandId" TEXT;

