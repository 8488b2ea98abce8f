/**
 * Starting an HTTP server, shared by the origin, the edge, the steering service and the
 * synthetic bench origin: one place for the listening socket, its slow-client limits and a
 * clear message when the port is taken.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RunningServer {
  readonly server: http.Server;
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** Stops listening and closes every connection, idle or not. */
  close(): Promise<void>;
}

/**
 * Starts an HTTP server for a request handler.
 *
 * Slow-client limits (slowloris) are Node's defaults made explicit: 30 s for the request
 * headers, 120 s for a whole request, 5 s of keep-alive idleness, 60 s of socket idleness.
 * @param port 0 picks a free port.
 * @param serverOptions node:http options (e.g. `maxHeaderSize`, whose excess Node answers 431).
 * @throws Error "port N on HOST is already in use" for EADDRINUSE; other listen errors as they are.
 */
export function listen(handler: http.RequestListener, host: string, port: number, serverOptions: http.ServerOptions = {}): Promise<RunningServer> {
  const server = http.createServer(serverOptions, handler);
  server.headersTimeout = 30_000;
  server.requestTimeout = 120_000;
  server.keepAliveTimeout = 5_000;
  // A connection idle this long is closed (slow or stuck clients).
  server.timeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} on ${host} is already in use`) : err);
    });
    server.listen(port, host, () => {
      const addr = server.address() as AddressInfo;
      const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      resolve({
        server,
        url: `http://${shownHost}:${addr.port}`,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}
