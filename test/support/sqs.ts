/**
 * A few SQS calls against moto (AWS JSON protocol), for what Lambda's own machinery does with the failed-jobs queue
 * in tests: the on-failure destination's SendMessage and the event source mapping's ReceiveMessage/DeleteMessage.
 * The bot itself makes no SQS call (so it needs no SQS client); these are the Lambda service's calls, not checked
 * against the functions' roles (serverless.yml grants them to the worker's role for Lambda to use).
 */
async function sqs<T>(endpoint: string, action: string, input: Record<string, unknown>): Promise<T> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `AmazonSQS.${action}`,
      // moto routes by the signing service in the Authorization header; it checks no signature
      authorization:
        'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: JSON.stringify(input),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`SQS ${action} answered ${response.status}: ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

export interface SqsMessage {
  MessageId: string;
  ReceiptHandle: string;
  Body: string;
}

/** A queue in the emulator. */
export class TestQueue {
  private constructor(
    private readonly endpoint: string,
    readonly url: string,
    readonly arn: string,
  ) {}

  static async create(endpoint: string, name: string): Promise<TestQueue> {
    const { QueueUrl } = await sqs<{ QueueUrl: string }>(endpoint, 'CreateQueue', { QueueName: name });
    return new TestQueue(endpoint, QueueUrl, `arn:aws:sqs:us-east-1:123456789012:${name}`);
  }

  async send(body: string): Promise<void> {
    await sqs(this.endpoint, 'SendMessage', { QueueUrl: this.url, MessageBody: body });
  }

  async receive(): Promise<SqsMessage[]> {
    const { Messages } = await sqs<{ Messages?: SqsMessage[] }>(this.endpoint, 'ReceiveMessage', {
      QueueUrl: this.url,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 30,
    });
    return Messages ?? [];
  }

  async delete(message: SqsMessage): Promise<void> {
    await sqs(this.endpoint, 'DeleteMessage', { QueueUrl: this.url, ReceiptHandle: message.ReceiptHandle });
  }

  /** ApproximateNumberOfMessages: what the failed-jobs alarm watches (ApproximateNumberOfMessagesVisible). */
  async visible(): Promise<number> {
    const { Attributes } = await sqs<{ Attributes: Record<string, string> }>(this.endpoint, 'GetQueueAttributes', {
      QueueUrl: this.url,
      AttributeNames: ['ApproximateNumberOfMessages'],
    });
    return Number(Attributes.ApproximateNumberOfMessages);
  }
}
