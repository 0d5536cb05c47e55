-- AlterTable
ALTER TABLE "workspaces" ADD COLUMN     "request_id" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "workspaces_request_id_key" ON "workspaces"("request_id");

