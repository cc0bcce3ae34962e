// A free TCP port on 127.0.0.1 (bound and released), for servers the stack starts.
import { createServer } from 'node:net';

export const freePort = () => new Promise((resolve, reject) => {
  const probe = createServer();
  probe.once('error', reject);
  probe.listen(0, '127.0.0.1', () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});
