package cn.huolala.lala.pay.cashier.desk.sdk.api;

import cn.huolala.lala.pay.cashier.desk.sdk.exception.CashierDeskException;
import cn.huolala.lala.pay.cashier.desk.sdk.exception.CashierDeskNetworkException;
import cn.huolala.lala.pay.cashier.desk.sdk.exception.CashierDeskProtocolException;
import cn.huolala.lala.pay.cashier.desk.sdk.exception.SignatureVerificationException;
import cn.huolala.lala.pay.cashier.desk.sdk.exception.SignatureVerificationException.Reason;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkChannel;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkNotification;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkOrderSignature;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkPaymentNotification;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkQueryOrderResponse;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkRefundNotification;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkRefundQueryResponse;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkRefundRequest;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkRefundResponse;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkStatement;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkTransferNotification;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkTransferRequest;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkTransferResponse;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkUnifiedOrdersRequest;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkUnifiedOrdersResponse;
import cn.huolala.lala.pay.cashier.desk.sdk.sign.HeaderLookup;
import cn.huolala.lala.pay.cashier.desk.sdk.sign.MemoryNonceStore;
import cn.huolala.lala.pay.cashier.desk.sdk.sign.NonceStore;
import cn.huolala.lala.pay.cashier.desk.sdk.sign.SignType;
import cn.huolala.lala.pay.cashier.desk.sdk.sign.SignatureV1;
import cn.huolala.lala.pay.cashier.desk.sdk.sign.VerifiedMessage;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;

/**
 * The Cashier Desk (收银台) merchant SDK: signs every request with Signature v1, verifies the signature of every
 * successful answer (and the unified order's signature block), and verifies the notifications the cashier desk
 * sends to the merchant's notify URL.
 *
 * <pre>{@code
 * PaySdk paySdk = new PaySdk(Gateway.GATEWAY_DEV, "10123", appKey);
 * SdkUnifiedOrdersResponse order = paySdk.unifiedOrder(new SdkUnifiedOrdersRequest(100, "月卡", "会员", "A1", "u1"));
 * String cashierUrl = paySdk.getPaymentListUrl(order);         // send the consumer's browser here
 * SdkQueryOrderResponse result = paySdk.queryOrder("A1");      // getResultCode(): SUCCESS | FINISH | FAIL | NULL
 * }</pre>
 *
 * <p>Thread-safe once built; share one instance. Every call throws a {@link CashierDeskException}: with the
 * envelope's code for an error answer, {@link SignatureVerificationException} (4010) for an answer that does not
 * verify, {@link CashierDeskNetworkException} when no answer came, {@link CashierDeskProtocolException} for an
 * answer of the wrong shape; {@link IllegalArgumentException} for invalid input, before anything is sent.
 */
public final class PaySdk {
    /** The code of a successful envelope. */
    public static final int SUCCESS_CODE = 1000;
    /** The message of a successful envelope. */
    public static final String SUCCESS_MSG = "操作成功";
    /**
     * The exact body a notify endpoint answers (with HTTP 200, after verifying and storing the notification);
     * anything else makes the cashier desk retry. Send it as UTF-8, {@code application/json}.
     */
    public static final String NOTIFICATION_ACK = "{\"code\":1000,\"msg\":\"操作成功\"}";

    private static final int DEFAULT_TIMEOUT_MILLIS = 10_000;
    /** Largest answer read: a statement of a busy day is a few MiB. */
    private static final int MAX_ANSWER_BYTES = 64 * 1024 * 1024;
    private static final Pattern DAY = Pattern.compile("\\d{4}-\\d{2}-\\d{2}");
    private static final Pattern ABSOLUTE_URL = Pattern.compile("(?i)^https?://.*");

    private final String gateway;
    private final String appId;
    private final String appKey;
    private final SignType signType;
    private final int timeoutMillis;
    private final String notifyUrl;
    private final List<String> notificationKeys;
    private final NonceStore nonceStore;
    private final MemoryNonceStore responseNonces;
    private final LongSupplier clock;
    private final Gson gson = new GsonBuilder().disableHtmlEscaping().create();

    /**
     * For {@code new PaySdk(Gateway.GATEWAY_DEV)} with no credentials in code: the app comes from the system properties
     * {@code cashier-desk.app-id}, {@code cashier-desk.app-key} and {@code cashier-desk.sign-type}, else the
     * environment variables {@code CASHIER_DESK_APP_ID}, {@code CASHIER_DESK_APP_KEY} and
     * {@code CASHIER_DESK_SIGN_TYPE} (sign type optional, default HMAC-SHA256).
     *
     * @throws IllegalStateException when the app id or key is in neither place
     */
    public PaySdk(Gateway gateway) {
        this(builder(gateway)
                .appId(setting("cashier-desk.app-id", "CASHIER_DESK_APP_ID", true))
                .appKey(setting("cashier-desk.app-key", "CASHIER_DESK_APP_KEY", true))
                .signType(signTypeSetting()));
    }

    /** An SDK for one app, signing with HMAC-SHA256. */
    public PaySdk(Gateway gateway, String appId, String appKey) {
        this(builder(gateway).appId(appId).appKey(appKey));
    }

    /** An SDK for one app, signing with {@code signType} (the one the app was registered with). */
    public PaySdk(Gateway gateway, String appId, String appKey, SignType signType) {
        this(builder(gateway).appId(appId).appKey(appKey).signType(signType));
    }

    private PaySdk(Builder b) {
        if (b.gateway == null) {
            throw new IllegalArgumentException("gateway is required");
        }
        this.gateway = b.gateway.getBaseUrl();
        this.appId = requireText("appId", b.appId);
        this.appKey = requireText("appKey", b.appKey);
        this.signType = b.signType == null ? SignType.HMAC_SHA256 : b.signType;
        if (b.timeoutMillis <= 0) {
            throw new IllegalArgumentException("timeoutMillis must be > 0");
        }
        this.timeoutMillis = b.timeoutMillis;
        this.notifyUrl = b.notifyUrl;
        List<String> keys = new ArrayList<String>();
        keys.add(this.appKey);
        for (String k : b.rotationKeys) {
            if (k != null && !k.isEmpty()) {
                keys.add(k);
            }
        }
        this.notificationKeys = Collections.unmodifiableList(keys);
        this.clock = b.clock == null ? System::currentTimeMillis : b.clock;
        this.nonceStore = b.nonceStore == null ? new MemoryNonceStore(this.clock) : b.nonceStore;
        this.responseNonces = new MemoryNonceStore(this.clock);
    }

    /** For the optional settings: notify URL, rotation keys, nonce store, timeout, clock. */
    public static Builder builder(Gateway gateway) {
        return new Builder(gateway);
    }

    /** Builds a {@link PaySdk}. */
    public static final class Builder {
        private final Gateway gateway;
        private String appId;
        private String appKey;
        private SignType signType;
        private int timeoutMillis = DEFAULT_TIMEOUT_MILLIS;
        private String notifyUrl;
        private List<String> rotationKeys = Collections.emptyList();
        private NonceStore nonceStore;
        private LongSupplier clock;

        private Builder(Gateway gateway) {
            this.gateway = gateway;
        }

        public Builder appId(String appId) {
            this.appId = appId;
            return this;
        }

        /** The app's key (shown once when the app was registered); never logged by the SDK. */
        public Builder appKey(String appKey) {
            this.appKey = appKey;
            return this;
        }

        /** Default HMAC-SHA256; must be the sign type the app was registered with. */
        public Builder signType(SignType signType) {
            this.signType = signType;
            return this;
        }

        /** Connect and read timeout of each request, default 10 000 ms. */
        public Builder timeoutMillis(int timeoutMillis) {
            this.timeoutMillis = timeoutMillis;
            return this;
        }

        /** Sent with every order that names none (otherwise the app's registered notify URL is used). */
        public Builder notifyUrl(String notifyUrl) {
            this.notifyUrl = notifyUrl;
            return this;
        }

        /**
         * Other keys that verify notifications during a key rotation: the cashier desk signs notifications with
         * the previous key until this app's first request signed with the new one.
         */
        public Builder rotationKeys(String... keys) {
            this.rotationKeys = keys == null ? Collections.<String>emptyList() : Arrays.asList(keys.clone());
            return this;
        }

        /** Where notification nonces are remembered (default: this process's memory). Share one across instances. */
        public Builder nonceStore(NonceStore nonceStore) {
            this.nonceStore = nonceStore;
            return this;
        }

        /** Epoch milliseconds (tests). */
        public Builder clock(LongSupplier clockMillis) {
            this.clock = clockMillis;
            return this;
        }

        public PaySdk build() {
            return new PaySdk(this);
        }
    }

    public String getGateway() {
        return gateway;
    }

    public String getAppId() {
        return appId;
    }

    public SignType getSignType() {
        return signType;
    }

    // ───────────────────────────── merchant API ─────────────────────────────

    /**
     * 下单 {@code POST /unified/orders}. Idempotent per outTradeNo, so retrying after a
     * {@link CashierDeskNetworkException} is safe. The answer's signature block is verified too.
     *
     * @throws CashierDeskException 4000 invalid fields, 4030 app or channels not approved, 4090 the outTradeNo
     *     was used with other content
     */
    public SdkUnifiedOrdersResponse unifiedOrder(SdkUnifiedOrdersRequest request) {
        if (request == null) {
            throw new IllegalArgumentException("request is required");
        }
        positive("amount", request.getAmount());
        requireText("goodsDesc", request.getGoodsDesc());
        requireText("orderTitle", request.getOrderTitle());
        requireText("outTradeNo", request.getOutTradeNo());
        requireText("thirdPartyUser", request.getThirdPartyUser());
        JsonObject body = gson.toJsonTree(request).getAsJsonObject();
        if (request.getNotifyUrl() == null && notifyUrl != null) {
            body.addProperty("notifyUrl", notifyUrl);
        }
        SdkUnifiedOrdersResponse order = as(call("POST", "/unified/orders", body), SdkUnifiedOrdersResponse.class, "unified order");
        if (order.getToken() == null || order.getToken().isEmpty() || order.getSignature() == null) {
            throw new CashierDeskProtocolException("unified order answer has no token or signature", 200);
        }
        if (!verifyOrderSignature(order) || !request.getOutTradeNo().equals(order.getSignature().getOutTradeNo())) {
            throw new SignatureVerificationException(Reason.BAD_ORDER_SIGNATURE);
        }
        return order;
    }

    /**
     * 选择支付方式 {@code POST /payment/list}: the cashier page URL to send the consumer to, offering for each
     * channel type the channel with the lowest {@code sort} (then the lowest id) among the order's channels.
     */
    public String getPaymentListUrl(SdkUnifiedOrdersResponse order) {
        if (order == null) {
            throw new IllegalArgumentException("order is required");
        }
        return getPaymentListUrl(order, defaultChannelIds(order.getChannels()));
    }

    /** 选择支付方式 with the merchant's own choice: at most one channel per channel type, by {@code channelId}. */
    public String getPaymentListUrl(SdkUnifiedOrdersResponse order, List<Long> channelIds) {
        if (order == null || order.getToken() == null) {
            throw new IllegalArgumentException("order must be a unified order answer");
        }
        if (channelIds == null || channelIds.isEmpty() || channelIds.contains(null)) {
            throw new IllegalArgumentException("channelIds must be a non-empty list of channel ids");
        }
        JsonObject body = new JsonObject();
        body.addProperty("token", order.getToken());
        body.add("channelIds", gson.toJsonTree(channelIds));
        JsonElement data = call("POST", "/payment/list", body);
        if (data == null || !data.isJsonObject() || !data.getAsJsonObject().has("url") || !data.getAsJsonObject().get("url").isJsonPrimitive()) {
            throw new CashierDeskProtocolException("payment list answer has no url", 200);
        }
        return data.getAsJsonObject().get("url").getAsString();
    }

    /** The channels {@link #getPaymentListUrl(SdkUnifiedOrdersResponse)} offers: the first of each type by sort, then id. */
    public static List<Long> defaultChannelIds(List<SdkChannel> channels) {
        Map<String, SdkChannel> best = new LinkedHashMap<String, SdkChannel>();
        for (SdkChannel c : channels) {
            SdkChannel cur = best.get(c.getChannelType());
            if (cur == null || c.getSort() < cur.getSort() || (c.getSort() == cur.getSort() && c.getId() < cur.getId())) {
                best.put(c.getChannelType(), c);
            }
        }
        List<Long> ids = new ArrayList<Long>();
        for (SdkChannel c : best.values()) {
            ids.add(c.getChannelId());
        }
        return ids;
    }

    /**
     * 查询支付结果 {@code GET /out-trade-no/query-pay-result/{outTradeNo}}.
     *
     * @throws CashierDeskException 4040 for an unknown order (also another app's)
     */
    public SdkQueryOrderResponse queryOrder(String outTradeNo) {
        String path = "/out-trade-no/query-pay-result/" + segment("outTradeNo", outTradeNo);
        SdkQueryOrderResponse r = as(call("GET", path, null), SdkQueryOrderResponse.class, "query");
        if (r.getResultCode() == null) {
            throw new CashierDeskProtocolException("query answer has no resultCode", 200);
        }
        return r;
    }

    /**
     * 退款 {@code POST /refunds}: usually PROCESSING; the result comes as a REFUND_RESULT notification, or
     * {@link #queryRefund(String)}.
     *
     * @throws CashierDeskException 4040 unknown order; 4090 order not paid or FINISH, more than is refundable,
     *     or the outRefundNo used with other content
     */
    public SdkRefundResponse refund(SdkRefundRequest request) {
        if (request == null) {
            throw new IllegalArgumentException("request is required");
        }
        requireText("outTradeNo", request.getOutTradeNo());
        requireText("outRefundNo", request.getOutRefundNo());
        positive("amount", request.getAmount());
        SdkRefundResponse r = as(call("POST", "/refunds", gson.toJsonTree(request)), SdkRefundResponse.class, "refund");
        if (r.getRefundId() <= 0 || r.getStatus() == null) {
            throw new CashierDeskProtocolException("refund answer has no refundId", 200);
        }
        return r;
    }

    /** 退款查询 {@code GET /refunds/{outRefundNo}}: status PROCESSING, SUCCESS or FAIL. */
    public SdkRefundQueryResponse queryRefund(String outRefundNo) {
        SdkRefundQueryResponse r = as(call("GET", "/refunds/" + segment("outRefundNo", outRefundNo), null), SdkRefundQueryResponse.class,
                "refund query");
        if (r.getStatus() == null) {
            throw new CashierDeskProtocolException("refund query answer has no status", 200);
        }
        return r;
    }

    /**
     * 转账 {@code POST /transfers}: above the app's approval threshold PENDING_APPROVAL; WeChat transfers wait for
     * the payee (WAIT_USER_CONFIRM); the result comes as a TRANSFER_RESULT notification.
     *
     * @throws CashierDeskException 4030 transfers are off for the app; 4090 above the per-transfer maximum or the
     *     day's remaining total, or the outBizNo used with other content
     */
    public SdkTransferResponse transfer(SdkTransferRequest request) {
        if (request == null) {
            throw new IllegalArgumentException("request is required");
        }
        requireText("outBizNo", request.getOutBizNo());
        positive("amount", request.getAmount());
        SdkTransferResponse r = as(call("POST", "/transfers", gson.toJsonTree(request)), SdkTransferResponse.class, "transfer");
        if (r.getTransferId() <= 0) {
            throw new CashierDeskProtocolException("transfer answer has no transferId", 200);
        }
        return r;
    }

    /** 转账查询 {@code GET /transfers/{outBizNo}}. */
    public SdkTransferResponse queryTransfer(String outBizNo) {
        return as(call("GET", "/transfers/" + segment("outBizNo", outBizNo), null), SdkTransferResponse.class, "transfer query");
    }

    /**
     * 对账单 {@code GET /bills/{yyyy-MM-dd}}: the app's payments and successful refunds of one finished
     * Asia/Shanghai day. The CSV's RESPONSE signature over its exact bytes is verified before it is parsed.
     *
     * @throws CashierDeskException 4000 malformed day, 4040 a day that is not over yet
     */
    public SdkStatement downloadBill(String day) {
        if (day == null || !DAY.matcher(day).matches()) {
            throw new IllegalArgumentException("day must be yyyy-MM-dd");
        }
        Exchange ex = send("GET", "/bills/" + day, null, "text/csv, application/json");
        String contentType = ex.header("Content-Type");
        if (contentType == null || !contentType.toLowerCase().startsWith("text/csv")) {
            JsonObject envelope = envelopeOf(ex);
            int code = envelope.get("code").getAsInt();
            if (code == SUCCESS_CODE) {
                throw new CashierDeskProtocolException("statement answer is not CSV", ex.status);
            }
            throw new CashierDeskException(code, envelope.get("msg").getAsString(), ex.status);
        }
        verifyAnswer(ex);
        return StatementParser.parse(new String(ex.body, StandardCharsets.UTF_8));
    }

    // ───────────────────────────── verification ─────────────────────────────

    /**
     * Checks a unified order's signature block (ORDER string, this app's id, key and sign type). Its age is not
     * checked: the merchant's front end may verify it long after the order was made.
     */
    public boolean verifyOrderSignature(SdkUnifiedOrdersResponse order) {
        if (order == null || order.getToken() == null || order.getToken().isEmpty()) {
            return false;
        }
        SdkOrderSignature b = order.getSignature();
        if (b == null || !appId.equals(b.getAppId())) {
            return false;
        }
        return SignatureV1.verifyOrder(b.getAppId(), b.getOutTradeNo(), order.getToken(), Long.toString(b.getTimestamp()), b.getNonce(),
                b.getSignature(), Collections.singletonList(appKey), signType);
    }

    /**
     * Verifies the RESPONSE signature of an answer received with another HTTP client: the pathWithQuery of the
     * request, the answer's headers and exact body. Nonces are not tracked here.
     *
     * @throws SignatureVerificationException when it does not verify
     */
    public VerifiedMessage verifyResponse(String requestPathWithQuery, HeaderLookup headers, byte[] body) {
        return SignatureV1.verifyResponse(requestPathWithQuery, headers, body, Collections.singletonList(appKey), clock.getAsLong(), appId);
    }

    /**
     * Verifies a notification the cashier desk POSTed to the merchant's notify URL and returns it typed
     * ({@link SdkPaymentNotification}, {@link SdkRefundNotification} or {@link SdkTransferNotification}). Checks
     * the signature over {@code METHOD\npathWithQuery\nappId\ntimestamp\nnonce\nrawBody} with this app's key (or a
     * rotation key), the ±300 s timestamp window, the app id, then claims the nonce (a second delivery of the same
     * signed message is refused). Works with any server: pass the request's method, its target exactly as
     * received (a servlet's {@code getRequestURI()} plus {@code "?" + getQueryString()}; a full URL is reduced to
     * its path and query), a header lookup (e.g. {@code request::getHeader}) and the raw body bytes, never
     * re-serialized JSON. Then store the result and answer HTTP 200 with {@link #NOTIFICATION_ACK}.
     *
     * @throws SignatureVerificationException (code 4010) with the failed check: answer 401 and do not act on it
     * @throws CashierDeskProtocolException when the verified body is not a notification of this app: answer 400
     */
    public SdkNotification verifyNotification(String method, String pathWithQuery, HeaderLookup headers, byte[] rawBody) {
        if (headers == null) {
            throw new IllegalArgumentException("headers are required");
        }
        if (pathWithQuery == null || pathWithQuery.isEmpty()) {
            throw new IllegalArgumentException("pathWithQuery is required (the path and query of the notify URL)");
        }
        byte[] body = rawBody == null ? new byte[0] : rawBody;
        long now = clock.getAsLong();
        VerifiedMessage verified = SignatureV1.verifyRequest(method, toPathWithQuery(pathWithQuery), headers, body, notificationKeys, now, appId);
        if (!nonceStore.claim(verified.getAppId(), verified.getNonce(), now + SignatureV1.NONCE_TTL_MS)) {
            throw new SignatureVerificationException(Reason.REPLAYED_NONCE);
        }
        String text = new String(body, StandardCharsets.UTF_8);
        JsonObject json;
        try {
            JsonElement parsed = JsonParser.parseString(text);
            if (!parsed.isJsonObject()) {
                throw new CashierDeskProtocolException("notification body is not a JSON object", 0);
            }
            json = parsed.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new CashierDeskProtocolException("notification body is not JSON", 0, e);
        }
        // Payment results predate eventType on some deployments; refund and transfer results always name themselves.
        String eventType = text(json, "eventType");
        if (eventType == null) {
            eventType = SdkNotification.PAYMENT_RESULT;
        }
        Class<? extends SdkNotification> type;
        boolean shaped = text(json, "resultCode") != null;
        if (SdkNotification.PAYMENT_RESULT.equals(eventType)) {
            type = SdkPaymentNotification.class;
            shaped = shaped && text(json, "outTradeNo") != null;
        } else if (SdkNotification.REFUND_RESULT.equals(eventType)) {
            type = SdkRefundNotification.class;
            shaped = shaped && text(json, "outTradeNo") != null && text(json, "outRefundNo") != null;
        } else if (SdkNotification.TRANSFER_RESULT.equals(eventType)) {
            type = SdkTransferNotification.class;
            shaped = shaped && text(json, "outBizNo") != null;
        } else {
            type = null;
            shaped = false;
        }
        if (!shaped) {
            throw new CashierDeskProtocolException("notification body is not a payment, refund or transfer result", 0);
        }
        String bodyAppId = text(json, "appId");
        if (json.has("appId") && !json.get("appId").isJsonNull() && !appId.equals(bodyAppId)) {
            throw new CashierDeskProtocolException("notification is for another app", 0);
        }
        SdkNotification n;
        try {
            n = gson.fromJson(json, type);
        } catch (JsonParseException e) {
            throw new CashierDeskProtocolException("notification body has fields of the wrong type", 0, e);
        }
        n.setEventType(eventType);
        n.setRawBody(text);
        return n;
    }

    /** {@link #verifyNotification(String, String, HeaderLookup, byte[])} with the headers in a map (any name casing). */
    public SdkNotification verifyNotification(String method, String pathWithQuery, Map<String, ?> headers, byte[] rawBody) {
        if (headers == null) {
            throw new IllegalArgumentException("headers are required");
        }
        return verifyNotification(method, pathWithQuery, HeaderLookup.of(headers), rawBody);
    }

    /**
     * RESPONSE-signature headers for the notify endpoint's answer {@code body} (e.g. {@link #NOTIFICATION_ACK} as
     * UTF-8), over the notification's pathWithQuery. The cashier desk does not require them; they let a proxy or
     * an audit log tell the answer came from the merchant.
     */
    public Map<String, String> answerHeaders(String pathWithQuery, byte[] body) {
        return SignatureV1.signResponseHeaders(toPathWithQuery(pathWithQuery), appId, appKey, signType, body, clock.getAsLong());
    }

    // ───────────────────────────── HTTP ─────────────────────────────

    /** An answer as received. */
    private static final class Exchange {
        final int status;
        final Map<String, List<String>> headers;
        final byte[] body;
        final String method;
        final String pathWithQuery;

        Exchange(int status, Map<String, List<String>> headers, byte[] body, String method, String pathWithQuery) {
            this.status = status;
            this.headers = headers;
            this.body = body;
            this.method = method;
            this.pathWithQuery = pathWithQuery;
        }

        String header(String name) {
            return HeaderLookup.of(headers).get(name);
        }
    }

    /** Signs and sends one request; returns {@code data} of a verified success envelope. */
    private JsonElement call(String method, String path, JsonElement payload) {
        byte[] body = payload == null ? null : gson.toJson(payload).getBytes(StandardCharsets.UTF_8);
        Exchange ex = send(method, path, body, "application/json");
        JsonObject envelope = envelopeOf(ex);
        int code = envelope.get("code").getAsInt();
        if (code != SUCCESS_CODE) {
            throw new CashierDeskException(code, envelope.get("msg").getAsString(), ex.status);
        }
        verifyAnswer(ex);
        return envelope.get("data");
    }

    private Exchange send(String method, String path, byte[] body, String accept) {
        String url = gateway + path;
        String pathWithQuery;
        URL target;
        try {
            URI uri = new URI(url);
            // exactly what HttpURLConnection puts on the request line: the raw path (and query), percent-encoding kept
            pathWithQuery = uri.getRawPath() + (uri.getRawQuery() != null ? "?" + uri.getRawQuery() : "");
            target = uri.toURL();
        } catch (Exception e) {
            throw new IllegalArgumentException("not a valid request URL: " + url, e);
        }
        Map<String, String> signed = SignatureV1.signRequestHeaders(method, pathWithQuery, appId, appKey, signType, body, clock.getAsLong());
        HttpURLConnection conn = null;
        try {
            conn = (HttpURLConnection) target.openConnection();
            conn.setRequestMethod(method);
            conn.setInstanceFollowRedirects(false);
            conn.setConnectTimeout(timeoutMillis);
            conn.setReadTimeout(timeoutMillis);
            conn.setUseCaches(false);
            for (Map.Entry<String, String> h : signed.entrySet()) {
                conn.setRequestProperty(h.getKey(), h.getValue());
            }
            conn.setRequestProperty("Accept", accept);
            if (body != null) {
                conn.setDoOutput(true);
                conn.setRequestProperty("Content-Type", "application/json; charset=utf-8");
                conn.setFixedLengthStreamingMode(body.length);
                OutputStream out = conn.getOutputStream();
                try {
                    out.write(body);
                } finally {
                    out.close();
                }
            }
            int status = conn.getResponseCode();
            InputStream in = status >= 400 ? conn.getErrorStream() : conn.getInputStream();
            byte[] raw = in == null ? new byte[0] : readAll(in);
            return new Exchange(status, conn.getHeaderFields(), raw, method, pathWithQuery);
        } catch (IOException e) {
            throw new CashierDeskNetworkException(method + " " + pathWithQuery + " failed: " + e, e);
        }
    }

    private static byte[] readAll(InputStream in) throws IOException {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[16384];
            int n;
            while ((n = in.read(buf)) > 0) {
                if (out.size() + n > MAX_ANSWER_BYTES) {
                    throw new IOException("answer larger than " + MAX_ANSWER_BYTES + " bytes");
                }
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        } finally {
            in.close();
        }
    }

    private JsonObject envelopeOf(Exchange ex) {
        JsonElement parsed;
        try {
            parsed = JsonParser.parseString(new String(ex.body, StandardCharsets.UTF_8));
        } catch (JsonParseException e) {
            throw new CashierDeskProtocolException(ex.method + " " + ex.pathWithQuery + ": answer is not JSON (HTTP " + ex.status + ")", ex.status, e);
        }
        if (!parsed.isJsonObject()) {
            throw new CashierDeskProtocolException(ex.method + " " + ex.pathWithQuery + ": answer is not a {code,msg} envelope (HTTP " + ex.status + ")", ex.status);
        }
        JsonObject o = parsed.getAsJsonObject();
        JsonElement code = o.get("code");
        JsonElement msg = o.get("msg");
        if (code == null || !code.isJsonPrimitive() || !code.getAsJsonPrimitive().isNumber() || msg == null || !msg.isJsonPrimitive()
                || !msg.getAsJsonPrimitive().isString()) {
            throw new CashierDeskProtocolException(ex.method + " " + ex.pathWithQuery + ": answer is not a {code,msg} envelope (HTTP " + ex.status + ")", ex.status);
        }
        return o;
    }

    /** The RESPONSE signature over the exact bytes, and a nonce not seen before. */
    private void verifyAnswer(Exchange ex) {
        long now = clock.getAsLong();
        VerifiedMessage v;
        try {
            v = SignatureV1.verifyResponse(ex.pathWithQuery, HeaderLookup.of(ex.headers), ex.body, Collections.singletonList(appKey), now, appId);
        } catch (SignatureVerificationException e) {
            throw new SignatureVerificationException(e.getReason(), ex.status);
        }
        if (!responseNonces.claim(v.getAppId(), v.getNonce(), now + SignatureV1.NONCE_TTL_MS)) {
            throw new SignatureVerificationException(Reason.REPLAYED_NONCE, ex.status);
        }
    }

    private <T> T as(JsonElement data, Class<T> type, String what) {
        if (data == null || !data.isJsonObject()) {
            throw new CashierDeskProtocolException(what + " answer has no data", 200);
        }
        try {
            return gson.fromJson(data, type);
        } catch (JsonParseException e) {
            throw new CashierDeskProtocolException(what + " answer has fields of the wrong type", 200, e);
        }
    }

    // ───────────────────────────── helpers ─────────────────────────────

    private static String toPathWithQuery(String pathOrUrl) {
        if (ABSOLUTE_URL.matcher(pathOrUrl).matches()) {
            URI u = URI.create(pathOrUrl);
            String p = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
            return p + (u.getRawQuery() != null ? "?" + u.getRawQuery() : "");
        }
        return pathOrUrl;
    }

    private static String text(JsonObject o, String name) {
        JsonElement e = o.get(name);
        if (e == null || !e.isJsonPrimitive()) {
            return null;
        }
        return e.getAsString();
    }

    private static String requireText(String name, String value) {
        if (value == null || value.trim().isEmpty()) {
            throw new IllegalArgumentException(name + " must be a non-empty string");
        }
        return value;
    }

    private static void positive(String name, Long value) {
        if (value == null || value <= 0) {
            throw new IllegalArgumentException(name + " must be a positive integer number of fen (分)");
        }
    }

    /** One path segment, percent-encoded as JavaScript's encodeURIComponent does (what the TypeScript SDK sends). */
    private static String segment(String name, String value) {
        requireText(name, value);
        if (value.equals(".") || value.equals("..")) {
            throw new IllegalArgumentException(name + " cannot be \".\" or \"..\"");
        }
        StringBuilder out = new StringBuilder();
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || "-_.!~*'()".indexOf(c) >= 0) {
                out.append(c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xf, 16)))
                        .append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
            }
        }
        return out.toString();
    }

    private static String setting(String property, String env, boolean required) {
        String v = System.getProperty(property);
        if (v == null || v.isEmpty()) {
            v = System.getenv(env);
        }
        if ((v == null || v.isEmpty()) && required) {
            throw new IllegalStateException("set the system property " + property + " or the environment variable " + env
                    + ", or use new PaySdk(gateway, appId, appKey)");
        }
        return v == null || v.isEmpty() ? null : v;
    }

    private static SignType signTypeSetting() {
        String v = setting("cashier-desk.sign-type", "CASHIER_DESK_SIGN_TYPE", false);
        if (v == null) {
            return SignType.HMAC_SHA256;
        }
        SignType t = SignType.fromHeaderValue(v);
        if (t == null) {
            throw new IllegalStateException("unsupported sign type " + v + ": HMAC-SHA256 or HMAC-SM3");
        }
        return t;
    }
}
