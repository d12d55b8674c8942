/** A child process serving TestProtocol (rpc-fixture.ts) to its parent, as the studio's children do. */
import { serve } from '../../main/core/util/child-rpc.js';
import { parentTransport } from '../../main/core/util/transport.js';
import { testHandlers, type TestProtocol } from './rpc-fixture.js';

const transport = parentTransport();
serve<TestProtocol>(
  transport,
  testHandlers((m) => transport.post(m)),
);
transport.onClose(() => process.exit(0));
