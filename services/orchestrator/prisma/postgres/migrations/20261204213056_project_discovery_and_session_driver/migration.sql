-- AlterTable
ALTER TABLE "projects" ADD COLUMN     "discovery" JSONB;

-- AlterTable
ALTER TABLE "sessions" ADD COLUMN     "container" TEXT,
ADD COLUMN     "driver" TEXT,
ADD COLUMN     "driverNote" TEXT;

