/**
 * moto 5.2.1 does not implement service-specific credentials (CreateServiceSpecificCredential,
 * ListServiceSpecificCredentials, DeleteServiceSpecificCredential answer HTTP 500 "has not been implemented"). This
 * stands in for those three calls only, after the role checker has checked them (TestBotOptions.decorateClient adds it
 * after the role checker's middleware): the credentials live here, per user, and DeleteUser of a user that still has
 * one fails with DeleteConflict, as IAM does. Every other call goes to moto.
 */
interface MiddlewareClient {
  middlewareStack: {
    add: (
      mw: (
        next: (args: { input: Record<string, unknown> }) => Promise<{ output: unknown }>,
        context: { commandName?: string },
      ) => (args: { input: Record<string, unknown> }) => Promise<{ output: unknown }>,
      options: unknown,
    ) => void;
  };
}

const iamError = (name: string, message: string) =>
  Object.assign(new Error(message), { name, Code: name, $fault: 'client', $metadata: { httpStatusCode: 409 } });

export class ServiceCredentialStandIn {
  /** Credential ids by user name. */
  readonly byUser = new Map<string, string[]>();
  #seq = 0;

  /** Test setup: a credential for `userName` (what CreateServiceSpecificCredential would make). */
  create(userName: string): string {
    const id = `ACCA${String(++this.#seq).padStart(16, '0')}`;
    this.byUser.set(userName, [...(this.byUser.get(userName) ?? []), id]);
    return id;
  }

  /** TestBotOptions.decorateClient. */
  readonly decorate = (client: unknown): void => {
    (client as MiddlewareClient).middlewareStack.add(
      (next, context) => async (args) => {
        const user = String(args.input.UserName ?? '');
        switch (context.commandName) {
          case 'ListServiceSpecificCredentialsCommand':
            return {
              output: {
                ServiceSpecificCredentials: (this.byUser.get(user) ?? []).map((id) => ({
                  UserName: user,
                  ServiceSpecificCredentialId: id,
                  ServiceName: 'codecommit.amazonaws.com',
                  Status: 'Active',
                })),
                $metadata: {},
              },
            };
          case 'DeleteServiceSpecificCredentialCommand': {
            const id = String(args.input.ServiceSpecificCredentialId);
            const ids = this.byUser.get(user) ?? [];
            if (!ids.includes(id)) throw iamError('NoSuchEntity', `No credential ${id}`);
            this.byUser.set(
              user,
              ids.filter((i) => i !== id),
            );
            return { output: { $metadata: {} } };
          }
          case 'DeleteUserCommand':
            if (this.byUser.get(user)?.length)
              throw iamError('DeleteConflict', 'Cannot delete entity, must remove service specific credentials first.');
            return next(args);
          default:
            return next(args);
        }
      },
      { step: 'initialize', name: 'serviceCredentialStandIn' },
    );
  };
}
