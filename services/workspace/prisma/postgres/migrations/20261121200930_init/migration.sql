-- CreateTable
CREATE TABLE "workspaces" (
    "id" TEXT NOT NULL,
    "owner" TEXT,
    "source" JSONB NOT NULL,
    "quota_mb" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "mode" TEXT NOT NULL,
    "hard_quota" BOOLEAN NOT NULL,
    "layers" JSONB NOT NULL,
    "path" TEXT NOT NULL,
    "worktree" JSONB,
    "parent" JSONB,
    "notes" JSONB NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "last_active_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "workspaces_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "snapshots" (
    "id" TEXT NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "label" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL,
    "files" INTEGER NOT NULL,
    "bytes" BIGINT NOT NULL,
    "checksum" TEXT NOT NULL,

    CONSTRAINT "snapshots_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "workspaces_owner_idx" ON "workspaces"("owner");

-- CreateIndex
CREATE INDEX "snapshots_workspace_id_idx" ON "snapshots"("workspace_id");

