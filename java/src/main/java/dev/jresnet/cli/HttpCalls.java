package dev.jresnet.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import com.sun.net.httpserver.HttpExchange;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * What every endpoint of {@code jresnet serve} does with an exchange: read the body within the size limit, answer
 * JSON, and answer an error as one line of JSON, {@code {"error": "..."}} (the Open Inference Protocol's error
 * object).
 */
final class HttpCalls {
    private HttpCalls() {}

    /** A request refused with an HTTP status and a one-line reason that names the fix. */
    static class HttpError extends Exception {
        private static final long serialVersionUID = 1L;
        final int status;

        HttpError(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    /**
     * The body, refused with 413 before it is read when Content-Length says it is larger than {@code max} bytes,
     * or as soon as a chunked body passes {@code max}.
     */
    static byte[] body(HttpExchange ex, long max) throws HttpError, IOException {
        String length = ex.getRequestHeaders().getFirst("Content-Length");
        if (length != null) {
            long n;
            try {
                n = Long.parseLong(length.strip());
            } catch (NumberFormatException e) {
                throw new HttpError(400, "Content-Length \"" + length + "\" is not a number");
            }
            if (n > max) {
                throw tooLarge(n, max);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(length != null ? (int) Long.parseLong(length.strip())
                : 8192);
        byte[] buf = new byte[65536];
        try (InputStream in = ex.getRequestBody()) {
            for (int r; (r = in.read(buf)) > 0; ) {
                if (out.size() + (long) r > max) {
                    throw tooLarge(out.size() + (long) r, max);
                }
                out.write(buf, 0, r);
            }
        }
        return out.toByteArray();
    }

    private static HttpError tooLarge(long n, long max) {
        return new HttpError(413, "the request body is larger than the server's limit (" + (n > max ? "at least "
                : "") + n + " bytes, limit " + max + "): send less, or start the server with a larger --max-body-mb");
    }

    /** How much of an unread request body an error answer reads and drops first. */
    static final long DRAIN_LIMIT = 64L << 20;

    /**
     * Reads and drops what is left of the request body (at most {@link #DRAIN_LIMIT} bytes) before an error is
     * answered: closing a connection with unread bytes in its receive buffer sends a TCP reset, and the client then
     * lost the error's body (seen in CI: "fixed content-length: 208, bytes received: 0" for a 415 answered before
     * the JSON body was read).
     */
    static void drain(HttpExchange ex) {
        byte[] buf = new byte[65536];
        long left = DRAIN_LIMIT;
        try {
            InputStream in = ex.getRequestBody();
            for (int r; left > 0 && (r = in.read(buf, 0, (int) Math.min(buf.length, left))) > 0; ) {
                left -= r;
            }
        } catch (IOException e) {
            // already read and closed, or the client went away: nothing to drain
        }
    }

    /** The request's media type, lower case, without parameters; "" when absent. */
    static String mediaType(HttpExchange ex) {
        String t = ex.getRequestHeaders().getFirst("Content-Type");
        if (t == null) {
            return "";
        }
        int semi = t.indexOf(';');
        return (semi >= 0 ? t.substring(0, semi) : t).strip().toLowerCase(Locale.ROOT);
    }

    /** Writes a JSON body with {@code status}. */
    static void json(HttpExchange ex, int status, JsonBody body) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (JsonGenerator g = Terminal.jsonMapper().getFactory().createGenerator(buf)) {
            body.write(g);
        }
        buf.write('\n');
        send(ex, status, "application/json", buf.toByteArray());
    }

    /** {@code {"error": "..."}} with {@code status}: one line, the message with its newlines flattened. */
    static void error(HttpExchange ex, int status, String message) throws IOException {
        json(ex, status, g -> {
            g.writeStartObject();
            g.writeStringField("error", message == null ? "unknown error" : message.replace('\n', ' '));
            g.writeEndObject();
        });
    }

    static void send(HttpExchange ex, int status, String contentType, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    static void text(HttpExchange ex, int status, String contentType, String body) throws IOException {
        send(ex, status, contentType, body.getBytes(StandardCharsets.UTF_8));
    }

    /** A JSON document written to a generator. */
    interface JsonBody {
        void write(JsonGenerator g) throws IOException;
    }
}
