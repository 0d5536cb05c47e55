-- AlterTable
ALTER TABLE "analytics_usage" ADD COLUMN     "duration_ms" DOUBLE PRECISION,
ADD COLUMN     "first_token_ms" DOUBLE PRECISION;

