-- AlterTable
ALTER TABLE "projects" ADD COLUMN     "visibility" TEXT NOT NULL DEFAULT 'private';

