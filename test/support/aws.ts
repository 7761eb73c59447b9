import { GetRoleCommand, type IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';

/**
 * STUB for moto gap 5 (shared/STACK-NOTES.md): moto's AssumeRole returns credentials even for a role that does not
 * exist, where real STS answers AccessDenied. This STS client asks moto's IAM whether the role exists first and
 * throws the error real STS throws when it does not; every other call goes to moto unchanged.
 */
export function stsCheckingRoleExists(iam: IAMClient) {
  return (config: NonNullable<ConstructorParameters<typeof STSClient>[0]>): STSClient => {
    const sts = new STSClient(config);
    const send = sts.send.bind(sts) as (command: unknown) => Promise<unknown>;
    (sts as { send: unknown }).send = async (command: unknown) => {
      if (command instanceof AssumeRoleCommand) {
        const arn = command.input.RoleArn ?? '';
        try {
          await iam.send(new GetRoleCommand({ RoleName: arn.split('/').pop() }));
        } catch {
          throw Object.assign(new Error(`User is not authorized to perform: sts:AssumeRole on resource: ${arn}`), {
            name: 'AccessDenied',
            $metadata: { httpStatusCode: 403 },
          });
        }
      }
      return send(command);
    };
    return sts;
  };
}
