// Lambda's Invoke API, asynchronous (`X-Amz-Invocation-Type: Event`), as one SigV4-signed HTTPS request: what the
// Slack function needs from Lambda, without @aws-sdk/client-lambda (~100 KB of the Slack bundle: every command of
// the service and its REST-JSON protocol, for one call). The signer is the SDK's own (@smithy/signature-v4, shared
// with the other clients, so it costs the bundles nothing); the request is Node's https. Retried as the SDK's standard mode
// retries: 3 attempts on a throttle, a 5xx or a network error.
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SignatureV4 } from '@smithy/signature-v4';

/** AWS credentials, as the SDK's clients take them. */
export interface InvokeCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Where and as whom to invoke: the region, an endpoint (tests, the bench), credentials (default: the environment's). */
export interface LambdaInvokeConfig {
  region?: string;
  endpoint?: string;
  credentials?: InvokeCredentials;
}

/** A failed Invoke: `name` is Lambda's error type (`ResourceNotFoundException`, `TooManyRequestsException`, ...). */
export class LambdaInvokeError extends Error {
  constructor(
    name: string,
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = name;
  }
}

type Data = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: Data): Buffer =>
  typeof data === 'string'
    ? Buffer.from(data, 'utf8')
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

/** SHA-256 (an HMAC when given a secret) in the shape the signer asks for, from node:crypto. */
class Sha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: Data) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: Data): void {
    this.#hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
}

/** The credentials Lambda gives a function, in its environment (as the SDK's `fromEnv` reads them). */
function credentialsFromEnv(): InvokeCredentials {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = process.env;
  if (!accessKeyId || !secretAccessKey)
    throw new LambdaInvokeError('CredentialsProviderError', 'No AWS credentials in the environment', 0);
  const sessionToken = process.env.AWS_SESSION_TOKEN;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

const ATTEMPTS = 3;
const retryable = (error: unknown) =>
  !(error instanceof LambdaInvokeError) ||
  error.statusCode === 429 ||
  error.statusCode >= 500 ||
  /Throttl|TooManyRequests/.test(error.name);

/** Invokes Lambda functions asynchronously; one instance per endpoint and identity. */
export class LambdaInvoker {
  readonly #region: string;
  readonly #url: URL;
  readonly #signer: SignatureV4;

  constructor(config: LambdaInvokeConfig) {
    this.#region = config.region ?? process.env.AWS_REGION ?? 'us-east-1';
    this.#url = new URL(config.endpoint ?? `https://lambda.${this.#region}.amazonaws.com`);
    this.#signer = new SignatureV4({
      service: 'lambda',
      region: this.#region,
      sha256: Sha256,
      credentials: async () => config.credentials ?? credentialsFromEnv(),
    });
  }

  /**
   * Queues `payload` for `functionName` (a name or an ARN) with `InvocationType: Event`: resolves once Lambda has
   * accepted it (202). Throws LambdaInvokeError with Lambda's error type after the last attempt.
   */
  async invokeEvent(functionName: string, payload: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#send(functionName, payload);
      } catch (error) {
        if (attempt >= ATTEMPTS || !retryable(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 100 * 2 ** attempt));
      }
    }
  }

  async #send(functionName: string, payload: string): Promise<void> {
    const path = `${this.#url.pathname.replace(/\/$/, '')}/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`;
    const signed = await this.#signer.sign({
      method: 'POST',
      protocol: this.#url.protocol,
      hostname: this.#url.hostname,
      ...(this.#url.port ? { port: Number(this.#url.port) } : {}),
      path,
      query: {},
      headers: {
        host: this.#url.host,
        'content-type': 'application/octet-stream',
        'x-amz-invocation-type': 'Event',
      },
      body: payload,
    });
    const response = await post(new URL(path, this.#url), signed.headers, payload);
    if (response.status >= 200 && response.status < 300) return;
    let message = response.body;
    try {
      message = (JSON.parse(response.body) as { message?: string; Message?: string }).message ?? message;
    } catch {
      // not JSON: the body as it is
    }
    const type = String(response.headers['x-amzn-errortype'] ?? '').split(':')[0] || `Http${response.status}`;
    throw new LambdaInvokeError(type, message || `Lambda answered ${response.status}`, response.status);
  }
}

/** One HTTP(S) POST, its answer read whole (an Invoke's answer is small: empty, or an error's JSON). */
function post(
  url: URL,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: 'POST', headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('Lambda Invoke timed out')));
    req.on('error', reject);
    req.end(body);
  });
}
