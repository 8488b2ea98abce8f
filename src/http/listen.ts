/**
 * Starting an HTTP server, shared by the origin, the edge, the steering service and the
 * synthetic bench origin: one place for the listening socket, its slow-client limits and a
 * clear message when the port is taken.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RunningServer {
  readonly server: http.Server;
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** Stops listening and closes every connection, idle or not. */
  close(): Promise<void>;
}

/**
 * Connection limits against slow and stuck clients (slowloris, slow readers). Each is a time in
 * ms; the defaults follow Node's own where it has one, nginx's otherwise, halved for send.
 */
export interface ConnectionLimits {
  /** Time to receive a request's whole header section; then the connection is closed (408). Default 30000 (Node's default is 60000; nginx client_header_timeout 60 s). */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request, body included. Default 120000. */
  readonly requestTimeoutMs: number;
  /** Idle time allowed between two requests on a kept-alive connection. Default 5000 (Node's). */
  readonly keepAliveTimeoutMs: number;
  /**
   * Send (and idle) timeout: a connection with no progress in either direction for this long is
   * destroyed — a client that stops reading a response holds its buffers no longer than this.
   * Default 30000 (nginx send_timeout is 60 s).
   */
  readonly sendTimeoutMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = Object.freeze({ headersTimeoutMs: 30_000, requestTimeoutMs: 120_000, keepAliveTimeoutMs: 5_000, sendTimeoutMs: 30_000 });

/**
 * Starts an HTTP server for a request handler.
 *
 * Limits (`ConnectionLimits`) are enforced as configured: Node checks header and request
 * timeouts every `connectionsCheckingInterval` (30 s by default, which let a slow-header client
 * live 60 s past a 30 s limit), so the interval here is at most 1 s; a connection making no
 * progress for `sendTimeoutMs` is destroyed explicitly.
 * @param port 0 picks a free port.
 * @param serverOptions node:http options (e.g. `maxHeaderSize`, whose excess Node answers 431).
 * @throws Error "port N on HOST is already in use" for EADDRINUSE; other listen errors as they are.
 */
export function listen(handler: http.RequestListener, host: string, port: number, serverOptions: http.ServerOptions = {}, limits: Partial<ConnectionLimits> = {}): Promise<RunningServer> {
  const l = { ...DEFAULT_CONNECTION_LIMITS, ...limits };
  const server = http.createServer(
    {
      ...serverOptions,
      headersTimeout: l.headersTimeoutMs,
      requestTimeout: l.requestTimeoutMs,
      keepAliveTimeout: l.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(l.headersTimeoutMs / 4))),
    },
    handler,
  );
  server.timeout = l.sendTimeoutMs;
  server.on('timeout', (socket: Socket) => socket.destroy());
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
