package cn.huolala.lala.pay.cashier.desk.sdk.api;

import java.net.URI;
import java.net.URISyntaxException;

/**
 * Where the cashier desk's merchant API is: its base URL, up to and including {@code /api/cashier-desk}.
 * {@link #GATEWAY_DEV} is a local {@code npm start}; for any other deployment use {@link #of(String)}.
 */
public final class Gateway {
    /** A cashier desk started locally with {@code npm start} (HOST 127.0.0.1, PORT 8080). */
    public static final Gateway GATEWAY_DEV = new Gateway("http://127.0.0.1:8080/api/cashier-desk");

    private final String baseUrl;

    private Gateway(String baseUrl) {
        this.baseUrl = baseUrl;
    }

    /**
     * A gateway at {@code baseUrl}, e.g. {@code https://pay.example.com/api/cashier-desk} (a trailing slash is
     * dropped). Must be an absolute http(s) URL without query, fragment or credentials.
     */
    public static Gateway of(String baseUrl) {
        if (baseUrl == null || baseUrl.trim().isEmpty()) {
            throw new IllegalArgumentException("gateway URL must be a non-empty string");
        }
        String trimmed = baseUrl.trim();
        while (trimmed.endsWith("/")) {
            trimmed = trimmed.substring(0, trimmed.length() - 1);
        }
        URI uri;
        try {
            uri = new URI(trimmed);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("gateway is not a URL: " + baseUrl, e);
        }
        String scheme = uri.getScheme();
        if (scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https")) || uri.getHost() == null) {
            throw new IllegalArgumentException("gateway must be an absolute http(s) URL: " + baseUrl);
        }
        if (uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
            throw new IllegalArgumentException("gateway must not have a query, fragment or credentials");
        }
        return new Gateway(trimmed);
    }

    /** The base URL without a trailing slash. */
    public String getBaseUrl() {
        return baseUrl;
    }

    @Override
    public String toString() {
        return baseUrl;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Gateway && ((Gateway) o).baseUrl.equals(baseUrl);
    }

    @Override
    public int hashCode() {
        return baseUrl.hashCode();
    }
}
