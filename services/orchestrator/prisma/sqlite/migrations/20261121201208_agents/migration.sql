-- CreateTable
CREATE TABLE "agent_runs" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "sessionId" TEXT NOT NULL,
    "projectId" TEXT,
    "status" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "startedAt" DATETIME NOT NULL,
    "endedAt" DATETIME,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "agent_providers" (
    "scope" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "baseURL" TEXT,
    "enabled" BOOLEAN NOT NULL,
    "sealedKey" TEXT,
    "keyHint" TEXT,
    "models" JSONB NOT NULL,
    "updatedAt" DATETIME NOT NULL,

    PRIMARY KEY ("scope", "name")
);

-- CreateTable
CREATE TABLE "agent_role_configs" (
    "scope" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "config" JSONB NOT NULL,
    "updatedAt" DATETIME NOT NULL,

    PRIMARY KEY ("scope", "role")
);

-- CreateIndex
CREATE INDEX "agent_runs_sessionId_idx" ON "agent_runs"("sessionId");

