-- CreateTable
CREATE TABLE "agent_runs" (
    "id" TEXT NOT NULL,
    "sessionId" TEXT NOT NULL,
    "projectId" TEXT,
    "status" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL,
    "endedAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "agent_runs_pkey" PRIMARY KEY ("id")
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
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "agent_providers_pkey" PRIMARY KEY ("scope","name")
);

-- CreateTable
CREATE TABLE "agent_role_configs" (
    "scope" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "config" JSONB NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "agent_role_configs_pkey" PRIMARY KEY ("scope","role")
);

-- CreateIndex
CREATE INDEX "agent_runs_sessionId_idx" ON "agent_runs"("sessionId");

