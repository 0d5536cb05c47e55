-- AlterTable
ALTER TABLE "session_events" ADD COLUMN     "bytes" BYTEA;

