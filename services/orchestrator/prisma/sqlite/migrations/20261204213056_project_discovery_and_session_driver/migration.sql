-- AlterTable
ALTER TABLE "projects" ADD COLUMN "discovery" JSONB;

-- AlterTable
ALTER TABLE "sessions" ADD COLUMN "container" TEXT;
ALTER TABLE "sessions" ADD COLUMN "driver" TEXT;
ALTER TABLE "sessions" ADD COLUMN "driverNote" TEXT;

