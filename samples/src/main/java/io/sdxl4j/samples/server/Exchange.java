// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;

/**
 * One request and its answer: the body read within the server's limits (413 beyond
 * {@code --max-body}, 408 when it stops arriving for the read timeout), JSON and binary answers
 * with the request id, and whether the client hung up while its generation runs.
 */
final class Exchange {

    final Context ctx;
    final String requestId;
    final ClientApi api;
    private final Sdxl4jServer server;
    private SocketChannel channel;
    private boolean probed;
    private boolean gone;

    Exchange(Sdxl4jServer server, ClientApi api, Context ctx, String requestId) {
        this.server = server;
        this.api = api;
        this.ctx = ctx;
        this.requestId = requestId;
    }

    Sdxl4jServer server() {
        return server;
    }

    String header(String name) {
        return ctx.header(name);
    }

    /** The body, read whole. */
    byte[] body() {
        long max = server.config().maxBodyBytes();
        long length = ctx.req().getContentLengthLong();
        if (length > max) {
            ctx.header("Connection", "close");
            throw new ApiError(413, "body", "larger than the limit of " + max + " bytes (--max-body)");
        }
        ByteArrayOutputStream buffer = new ByteArrayOutputStream((int) Math.max(0, Math.min(length, 1 << 20)));
        try (InputStream in = ctx.req().getInputStream()) {
            byte[] chunk = new byte[65536];
            for (int n; (n = in.read(chunk)) > 0; ) {
                buffer.write(chunk, 0, n);
                if (buffer.size() > max) {
                    ctx.header("Connection", "close");
                    throw new ApiError(413, "body", "larger than the limit of " + max + " bytes (--max-body)");
                }
            }
        } catch (IOException e) {
            ctx.header("Connection", "close");
            if (timedOut(e)) {
                throw new ApiError(408, "body", "the request body stopped arriving for the read timeout of "
                        + server.config().readTimeout().toSeconds() + " s");
            }
            throw new ApiError(400, "body", "the request body could not be read");
        }
        return buffer.toByteArray();
    }

    private static boolean timedOut(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof TimeoutException || t instanceof java.net.SocketTimeoutException) {
                return true;
            }
        }
        return false;
    }

    /** The body as one JSON object (duplicate keys and trailing content refused). */
    ObjectNode json(int status) {
        return server.json().object(body(), status);
    }

    void json(int status, JsonNode body) {
        bytes(status, "application/json", Json.bytes(body));
    }

    void bytes(int status, String contentType, byte[] body) {
        ctx.attribute(Sdxl4jServer.ANSWERED, Boolean.TRUE);
        ctx.status(status).contentType(contentType).result(body);
    }

    /** Answers {@code error} in the API's shape (nothing when the answer has begun). */
    void error(ApiError error) {
        if (ctx.res().isCommitted()) {
            return;
        }
        error.headers.forEach(ctx::header);
        json(error.status, api.errorBody(error, requestId));
    }

    /**
     * True once the client has closed its connection. The server does not read from a connection
     * while its request is handled, so a hang-up shows only to a read: this reads the socket without
     * blocking (end of stream: gone). Bytes of a pipelined next request end the probing, and the
     * connection closes after this answer, since they were taken from it.
     */
    boolean clientGone() {
        if (gone) {
            return true;
        }
        if (!probed) {
            probed = true;
            try {
                var endPoint = ServletContextRequest.getServletContextRequest(ctx.req()).getConnectionMetaData()
                        .getConnection().getEndPoint();
                if (endPoint.getTransport() instanceof SocketChannel c && !c.isBlocking()) {
                    channel = c;
                }
            } catch (RuntimeException e) {
                channel = null;
            }
        }
        if (channel == null) {
            return false;
        }
        try {
            int n = channel.read(ByteBuffer.allocate(1));
            if (n < 0) {
                gone = true;
            } else if (n > 0) {
                channel = null;
                ctx.header("Connection", "close");
            }
        } catch (IOException e) {
            gone = true;
        }
        return gone;
    }
}
