// Stands in for `raw-body` (and with it iconv-lite's code-page tables) in the Lambda bundles. Bolt calls it only to
// read a Node `http.IncomingMessage` body (HTTPReceiver, ExpressReceiver, HTTPModuleFunctions.parseHTTPRequestBody);
// AwsLambdaReceiver gets the body as a string in the API Gateway event.
'use strict';

const unavailable = require('./unavailable.cjs');

module.exports = unavailable('raw-body (Bolt HTTPReceiver/ExpressReceiver)');
