-- CreateTable
CREATE TABLE "task_sync_leases" (
    "projectId" TEXT NOT NULL PRIMARY KEY,
    "holder" TEXT NOT NULL,
    "until" DATETIME NOT NULL
);

