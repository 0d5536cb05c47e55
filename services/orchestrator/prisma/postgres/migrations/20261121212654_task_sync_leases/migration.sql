-- CreateTable
CREATE TABLE "task_sync_leases" (
    "projectId" TEXT NOT NULL,
    "holder" TEXT NOT NULL,
    "until" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "task_sync_leases_pkey" PRIMARY KEY ("projectId")
);

