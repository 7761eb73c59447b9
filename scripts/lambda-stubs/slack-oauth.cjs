// Stands in for `@slack/oauth` (and jsonwebtoken, semver and another copy of @slack/web-api) in the Lambda bundles.
// Bolt builds an InstallProvider only in HTTPReceiver, ExpressReceiver and SocketModeReceiver (stubbed too, see
// bolt-receiver.cjs) and only with OAuth options (clientId, clientSecret, stateSecret...); the bot is a
// single-workspace app with a bot token. Bolt's index.js still requires the package to re-export the classes below
// through getters, which nothing in the bot reads.
'use strict';

const unavailable = require('./unavailable.cjs');

/** @param {string} name */
const failingClass = (name) => {
  const fail = unavailable(`@slack/oauth ${name}`);
  return class {
    constructor() {
      fail();
    }
  };
};

exports.InstallProvider = failingClass('InstallProvider');
exports.FileInstallationStore = failingClass('FileInstallationStore');
exports.MemoryInstallationStore = failingClass('MemoryInstallationStore');
