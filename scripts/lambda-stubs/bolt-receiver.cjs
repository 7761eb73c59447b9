// Stands in for Bolt's HTTPReceiver, ExpressReceiver and SocketModeReceiver in the Lambda bundles (and with them
// express, @slack/socket-mode with undici, path-to-regexp). The Lambda handlers pass their own AwsLambdaReceiver
// to `new App()`: App.initReceiver then returns it without touching these classes (it builds an HTTPReceiver only
// when no receiver is given, and tests `instanceof SocketModeReceiver` only with `socketMode: true`).
'use strict';

const unavailable = require('./unavailable.cjs');

const fail = unavailable("Bolt's HTTPReceiver/ExpressReceiver/SocketModeReceiver");

Object.defineProperty(exports, '__esModule', { value: true });
exports.default = class UnavailableReceiver {
  constructor() {
    fail();
  }
};
