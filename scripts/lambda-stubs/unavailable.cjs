// Shared by the Lambda-bundle stubs in this folder (see scripts/build.mjs, `aliases`): anything that reaches a
// stubbed module at run time fails loudly instead of misbehaving quietly.
'use strict';

/** @param {string} what */
module.exports = function unavailable(what) {
  return function stubbed() {
    throw new Error(`${what} is not bundled into the Lambda build (scripts/build.mjs aliases it to a stub)`);
  };
};
