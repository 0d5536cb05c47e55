-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_projects" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "source" JSONB NOT NULL,
    "settings" JSONB NOT NULL,
    "owner" TEXT,
    "visibility" TEXT NOT NULL DEFAULT 'private',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);
INSERT INTO "new_projects" ("createdAt", "id", "index", "name", "owner", "settings", "source", "updatedAt") SELECT "createdAt", "id", "index", "name", "owner", "settings", "source", "updatedAt" FROM "projects";
DROP TABLE "projects";
ALTER TABLE "new_projects" RENAME TO "projects";
CREATE UNIQUE INDEX "projects_name_key" ON "projects"("name");
CREATE UNIQUE INDEX "projects_index_key" ON "projects"("index");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

