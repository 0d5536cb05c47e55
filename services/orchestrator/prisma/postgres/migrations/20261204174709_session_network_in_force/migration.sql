-- AlterTable
ALTER TABLE "sessions" ADD COLUMN     "networkInForce" JSONB;

