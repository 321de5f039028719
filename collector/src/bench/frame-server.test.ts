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

  it('serves exactly `limit` frames in all, then ends the call with an OK status', async () => {
    // 1,000 frames of some hundred bytes: several 256 KiB chunks, the last one partial.
    const { address, close } = await serveFrames(encodeFrames(100), '127.0.0.1:0', 1_000);
    const count = () =>
      new Promise<number>((resolve, reject) => {
        let messages = 0;
        openGrpcStream(
          { target: address, path: '/observer.Observer/GetFlows', request: new Uint8Array() },
          {
            onMessage() {
              messages++;
              return true;
            },
            onEnd: (err) => (err ? reject(err) : resolve(messages)),
          },
        );
      });
    expect(await count()).toBe(1_000);
    // The limit is over every call: a second one ends at once.
    expect(await count()).toBe(0);
    close();
  });
});
