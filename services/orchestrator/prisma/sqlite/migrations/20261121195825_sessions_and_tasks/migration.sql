-- CreateTable
CREATE TABLE "sessions" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "owner" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "failureReason" TEXT,
    "closeReason" TEXT,
    "projectId" TEXT,
    "source" JSONB NOT NULL,
    "sandbox" JSONB NOT NULL,
    "workspacePolicy" TEXT NOT NULL,
    "workspaceId" TEXT,
    "workspacePath" TEXT,
    "shellInstanceId" TEXT,
    "limitsInForce" JSONB,
    "forkedFromSession" TEXT,
    "forkedFromSnapshot" TEXT,
    "ownerInstance" TEXT NOT NULL,
    "lastSeq" INTEGER NOT NULL DEFAULT 0,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "readyAt" DATETIME,
    "closedAt" DATETIME,
    "lastActivityAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "session_events" (
    "sessionId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "data" TEXT NOT NULL,
    "at" DATETIME NOT NULL,

    PRIMARY KEY ("sessionId", "seq")
);

-- CreateTable
CREATE TABLE "tasks" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "number" INTEGER NOT NULL,
    "title" TEXT NOT NULL,
    "description" TEXT,
    "status" TEXT NOT NULL,
    "owner" TEXT,
    "projectId" TEXT,
    "sessionIds" JSONB NOT NULL,
    "runIds" JSONB NOT NULL,
    "notes" JSONB NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "task_sync_base" (
    "projectId" TEXT NOT NULL,
    "taskId" TEXT NOT NULL,
    "fields" JSONB NOT NULL,
    "syncedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY ("projectId", "taskId")
);

-- CreateIndex
CREATE INDEX "sessions_owner_status_idx" ON "sessions"("owner", "status");

-- CreateIndex
CREATE INDEX "sessions_status_idx" ON "sessions"("status");

-- CreateIndex
CREATE INDEX "sessions_ownerInstance_idx" ON "sessions"("ownerInstance");

-- CreateIndex
CREATE UNIQUE INDEX "tasks_number_key" ON "tasks"("number");

-- CreateIndex
CREATE INDEX "tasks_projectId_idx" ON "tasks"("projectId");

-- CreateIndex
CREATE INDEX "tasks_owner_idx" ON "tasks"("owner");

