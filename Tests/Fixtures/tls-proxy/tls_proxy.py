# SPDX-License-Identifier: Apache-2.0
"""A TLS-terminating TCP proxy for tests: listens on 127.0.0.1 (a free port,
printed as the first line of output) with CERT and KEY, and forwards each
connection's bytes, decrypted, to 127.0.0.1:UPSTREAM.

Usage: tls_proxy.py CERT KEY UPSTREAM"""

import socket
import ssl
import sys
import threading


def pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client: socket.socket, context: ssl.SSLContext, upstream: int) -> None:
    try:
        secure = context.wrap_socket(client, server_side=True)
    except (ssl.SSLError, OSError):
        client.close()
        return
    try:
        plain = socket.create_connection(("127.0.0.1", upstream), timeout=30)
    except OSError:
        secure.close()
        return
    plain.settimeout(None)
    threading.Thread(target=pump, args=(plain, secure), daemon=True).start()
    pump(secure, plain)


def main() -> None:
    cert, key, upstream = sys.argv[1], sys.argv[2], int(sys.argv[3])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client, context, upstream), daemon=True).start()


if __name__ == "__main__":
    main()
