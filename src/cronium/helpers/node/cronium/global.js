'use strict';
// Preloaded (NODE_OPTIONS=--require) only for an event that asks for the global helpers:
// `cronium` is then a global, so that a script calls `await cronium.input()` with no require.
globalThis.cronium = require('./index.js');
