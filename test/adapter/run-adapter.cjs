// Starts the debug adapter from its TypeScript sources (tests spawn this like VS Code spawns an adapter).
require('tsx/cjs');
require('../../adapter/main.ts');
