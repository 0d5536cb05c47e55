-- AlterTable
ALTER TABLE "analytics_usage" ADD COLUMN "duration_ms" REAL;
ALTER TABLE "analytics_usage" ADD COLUMN "first_token_ms" REAL;

