// WhatsApp's server ack for a message we sent: `<ack class="message" id="...">`, with an
// `error` attribute when it refused it (463 and the like).
//
// Baileys' sendMessage resolves once the stanza is written to the socket and emits no event for a
// positive ack (only negative ones become a messages.update), so a socket that dies right after
// the write loses the message while the send looks successful. The worker therefore waits for
// this ack before it records `sent`, and re-sends under the same id when none comes
// (messages/outbound-worker.ts). Baileys internal: the ack is read from the socket client's own
// frame events (`CB:ack,class:message`, the name Baileys itself listens on), one listener per
// socket; self-check.ts verifies that naming at start-up.
import type { BinaryNode, WASocket } from '@whiskeysockets/baileys';

export interface AckWait {
  promise: Promise<{ error?: string }>;
  cancel(): void;
}

interface AckRegistry {
  wait(messageId: string): AckWait;
}

/** The frame event of a server ack for a message (tag `ack`, attribute class=message). */
export const MESSAGE_ACK_EVENT = 'CB:ack,class:message';

const registries = new WeakMap<WASocket, AckRegistry>();

export function serverAcks(sock: WASocket): AckRegistry {
  let registry = registries.get(sock);
  if (registry) return registry;
  const waiting = new Map<string, (ack: { error?: string }) => void>();
  sock.ws.on(MESSAGE_ACK_EVENT, (node: BinaryNode) => {
    const id = node.attrs.id;
    const resolve = id ? waiting.get(id) : undefined;
    if (!id || !resolve) return;
    waiting.delete(id);
    resolve(node.attrs.error ? { error: node.attrs.error } : {});
  });
  registry = {
    wait(messageId) {
      let settle!: (ack: { error?: string }) => void;
      const promise = new Promise<{ error?: string }>((resolve) => {
        settle = resolve;
      });
      waiting.set(messageId, settle);
      return { promise, cancel: () => waiting.get(messageId) === settle && waiting.delete(messageId) };
    },
  };
  registries.set(sock, registry);
  return registry;
}
