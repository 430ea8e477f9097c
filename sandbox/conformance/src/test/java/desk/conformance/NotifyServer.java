package desk.conformance;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * The merchant's notify_url: records every notification with its raw body and headers and acknowledges it the
 * way each provider requires (Alipay: the exact body {@code success}; WeChat Pay: 204 without a body). Tests
 * then verify and parse the recorded notifications with each SDK's own notification code.
 */
final class NotifyServer implements AutoCloseable {
  record Received(String path, Map<String, String> headers, String body) {
    /** Header by name, case-insensitively (HttpServer normalises the case of names). */
    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  private final HttpServer server;
  private final List<Received> received = new ArrayList<>();

  NotifyServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", exchange -> {
      String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      Map<String, String> headers = new TreeMap<>();
      exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), v.get(0)));
      synchronized (received) {
        received.add(new Received(exchange.getRequestURI().getPath(), headers, body));
        received.notifyAll();
      }
      if (exchange.getRequestURI().getPath().startsWith("/alipay")) {
        byte[] ok = "success".getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("content-type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(200, ok.length);
        exchange.getResponseBody().write(ok);
      } else {
        exchange.sendResponseHeaders(204, -1);
      }
      exchange.close();
    });
    server.start();
  }

  String url(String path) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + path;
  }

  /** The first received notification matching `p`, waiting up to 20 s for it. */
  Received await(Predicate<Received> p) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    synchronized (received) {
      while (true) {
        for (Received r : received) if (p.test(r)) return r;
        long left = deadline - System.nanoTime();
        if (left <= 0) throw new AssertionError("no matching notification within 20 s; received: " + received);
        received.wait(Math.max(1, left / 1_000_000));
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
