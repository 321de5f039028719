import { describe, expect, it } from 'vitest';
import { peekFlow } from '../../../common/schema/flow-wire.ts';
import { openGrpcStream } from '../sources/grpc-stream.ts';
import { decodeRawFlowsResponse } from '../sources/hubble-grpc.ts';
import { encodeFrames, serveFrames } from './frame-server.ts';

describe('collector > bench > frame-server', () => {
  it('serves pre-encoded frames over real gRPC, each flow with its own uuid', async () => {
    const { address, close } = await serveFrames(encodeFrames(100), '127.0.0.1:0');
    const uuids = new Set<string>();
    let messages = 0;
    await new Promise<void>((resolve, reject) => {
      const call = openGrpcStream(
        { target: address, path: '/observer.Observer/GetFlows', request: new Uint8Array() },
        {
          onMessage(data, start, end) {
            const res = decodeRawFlowsResponse(data, start, end);
            const flow = peekFlow(res.flowBytes!);
            expect(flow.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
            expect(res.nodeName).not.toBe('');
            uuids.add(flow.uuid);
            messages++;
            if (uuids.size === 350) {
              resolve();
              call.cancel();
            }
            return true;
          },
          onEnd: (err) => (err ? reject(err) : resolve()),
        },
      );
    });
    // Over three cycles of 100 distinct frames, and no id twice.
    expect(messages).toBeGreaterThanOrEqual(350);
    expect(uuids.size).toBe(messages);
    close();
  });
});
