-- CreateTable
CREATE TABLE "analytics_processed_event" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "at_ms" BIGINT NOT NULL,
    "recorded_at_ms" BIGINT NOT NULL
);

-- CreateTable
CREATE TABLE "analytics_usage" (
    "event_id" TEXT NOT NULL PRIMARY KEY,
    "at_ms" BIGINT NOT NULL,
    "day" INTEGER NOT NULL,
    "week" INTEGER NOT NULL,
    "provider" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "session" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "project" TEXT NOT NULL,
    "run" TEXT NOT NULL,
    "input_tokens" BIGINT NOT NULL,
    "output_tokens" BIGINT NOT NULL,
    "cost_usd" REAL NOT NULL,
    "priced" INTEGER NOT NULL
);

-- CreateTable
CREATE TABLE "analytics_usage_daily" (
    "day" INTEGER NOT NULL,
    "week" INTEGER NOT NULL,
    "provider" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "session" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "project" TEXT NOT NULL,
    "calls" BIGINT NOT NULL,
    "input_tokens" BIGINT NOT NULL,
    "output_tokens" BIGINT NOT NULL,
    "cost_usd" REAL NOT NULL,
    "unpriced" BIGINT NOT NULL,

    PRIMARY KEY ("day", "provider", "model", "role", "session", "user_id", "project")
);

-- CreateTable
CREATE TABLE "analytics_usage_weekly" (
    "week" INTEGER NOT NULL,
    "provider" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "session" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "project" TEXT NOT NULL,
    "calls" BIGINT NOT NULL,
    "input_tokens" BIGINT NOT NULL,
    "output_tokens" BIGINT NOT NULL,
    "cost_usd" REAL NOT NULL,
    "unpriced" BIGINT NOT NULL,

    PRIMARY KEY ("week", "provider", "model", "role", "session", "user_id", "project")
);

-- CreateTable
CREATE TABLE "analytics_command" (
    "event_id" TEXT NOT NULL PRIMARY KEY,
    "at_ms" BIGINT NOT NULL,
    "day" INTEGER NOT NULL,
    "week" INTEGER NOT NULL,
    "session" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "exit_code" INTEGER NOT NULL,
    "duration_ms" REAL NOT NULL,
    "timed_out" INTEGER NOT NULL
);

-- CreateTable
CREATE TABLE "analytics_command_daily" (
    "day" INTEGER NOT NULL,
    "week" INTEGER NOT NULL,
    "session" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "commands" BIGINT NOT NULL,
    "failed" BIGINT NOT NULL,
    "duration_ms" REAL NOT NULL,

    PRIMARY KEY ("day", "session", "user_id")
);

-- CreateTable
CREATE TABLE "analytics_command_weekly" (
    "week" INTEGER NOT NULL,
    "session" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "commands" BIGINT NOT NULL,
    "failed" BIGINT NOT NULL,
    "duration_ms" REAL NOT NULL,

    PRIMARY KEY ("week", "session", "user_id")
);

-- CreateTable
CREATE TABLE "analytics_session" (
    "session" TEXT NOT NULL PRIMARY KEY,
    "user_id" TEXT NOT NULL,
    "project" TEXT NOT NULL,
    "started_at_ms" BIGINT,
    "ended_at_ms" BIGINT,
    "outcome" TEXT
);

-- CreateTable
CREATE TABLE "analytics_agent_run" (
    "run" TEXT NOT NULL PRIMARY KEY,
    "event_id" TEXT NOT NULL,
    "session" TEXT NOT NULL,
    "project" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "at_ms" BIGINT NOT NULL,
    "day" INTEGER NOT NULL,
    "input_tokens" BIGINT NOT NULL,
    "output_tokens" BIGINT NOT NULL,
    "cost_usd" REAL NOT NULL
);

-- CreateTable
CREATE TABLE "analytics_task_completion" (
    "event_id" TEXT NOT NULL PRIMARY KEY,
    "task" TEXT NOT NULL,
    "at_ms" BIGINT NOT NULL,
    "day" INTEGER NOT NULL
);

-- CreateTable
CREATE TABLE "analytics_event_count" (
    "day" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "count" BIGINT NOT NULL,

    PRIMARY KEY ("day", "name")
);

-- CreateIndex
CREATE INDEX "analytics_processed_event_recorded_at_ms_idx" ON "analytics_processed_event"("recorded_at_ms");

-- CreateIndex
CREATE INDEX "analytics_usage_at_ms_idx" ON "analytics_usage"("at_ms");

-- CreateIndex
CREATE INDEX "analytics_command_at_ms_idx" ON "analytics_command"("at_ms");

-- CreateIndex
CREATE INDEX "analytics_session_started_at_ms_idx" ON "analytics_session"("started_at_ms");

-- CreateIndex
CREATE INDEX "analytics_session_ended_at_ms_idx" ON "analytics_session"("ended_at_ms");

-- CreateIndex
CREATE INDEX "analytics_agent_run_at_ms_idx" ON "analytics_agent_run"("at_ms");

-- CreateIndex
CREATE INDEX "analytics_task_completion_at_ms_idx" ON "analytics_task_completion"("at_ms");

