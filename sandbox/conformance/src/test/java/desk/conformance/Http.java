package desk.conformance;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.StringJoiner;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Plain HTTP for what no SDK does: the buyer's browser on the sandboxes' pages and the sandboxes' control API
 * (/__sim, loopback only). Redirects are not followed, so a test sees where a page sends the buyer.
 */
final class Http {
  private Http() {}

  static final Gson GSON = new Gson();
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(10)).build();

  record Response(int status, String contentType, String body, byte[] bytes, java.net.http.HttpHeaders headers) {
    JsonObject json() {
      return GSON.fromJson(body, JsonObject.class);
    }
  }

  static Response send(HttpRequest.Builder b) {
    try {
      HttpResponse<byte[]> r = CLIENT.send(b.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofByteArray());
      String type = r.headers().firstValue("content-type").orElse("");
      return new Response(r.statusCode(), type, new String(r.body(), StandardCharsets.UTF_8), r.body(), r.headers());
    } catch (IOException e) {
      throw new RuntimeException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RuntimeException(e);
    }
  }

  static Response get(String url) {
    return send(HttpRequest.newBuilder(URI.create(url)).GET());
  }

  static Response postForm(String url, Map<String, String> form) {
    return send(HttpRequest.newBuilder(URI.create(url))
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .POST(HttpRequest.BodyPublishers.ofString(formEncode(form))));
  }

  static Response postText(String url, String body) {
    return send(HttpRequest.newBuilder(URI.create(url)).header("content-type", "text/plain; charset=utf-8").POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  /** The sandbox control API: JSON in, JSON out; anything but 2xx fails the test with the sandbox's answer. */
  static JsonElement control(String base, String method, String path, Object body) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).header("content-type", "application/json");
    String text = body == null ? "" : GSON.toJson(body);
    b.method(method, text.isEmpty() ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(text));
    Response r = send(b);
    if (r.status() / 100 != 2) throw new AssertionError(method + " " + path + " → " + r.status() + " " + r.body());
    return r.body().isEmpty() ? null : GSON.fromJson(r.body(), JsonElement.class);
  }

  static String formEncode(Map<String, String> form) {
    StringJoiner j = new StringJoiner("&");
    form.forEach((k, v) -> j.add(URLEncoder.encode(k, StandardCharsets.UTF_8) + "=" + URLEncoder.encode(v, StandardCharsets.UTF_8)));
    return j.toString();
  }

  /** The first capture group of `regex` in `text`, or an AssertionError quoting the text. */
  static String find(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    if (!m.find()) throw new AssertionError("no match for " + regex + " in:\n" + text);
    return m.group(1);
  }

  static String htmlUnescape(String s) {
    return s.replace("&quot;", "\"").replace("&#39;", "'").replace("&#x27;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
  }
}
