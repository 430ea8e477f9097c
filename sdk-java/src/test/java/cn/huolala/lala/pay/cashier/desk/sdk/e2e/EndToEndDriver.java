package cn.huolala.lala.pay.cashier.desk.sdk.e2e;

import cn.huolala.lala.pay.cashier.desk.sdk.api.Gateway;
import cn.huolala.lala.pay.cashier.desk.sdk.api.PaySdk;
import cn.huolala.lala.pay.cashier.desk.sdk.exception.CashierDeskException;
import cn.huolala.lala.pay.cashier.desk.sdk.exception.CashierDeskProtocolException;
import cn.huolala.lala.pay.cashier.desk.sdk.exception.SignatureVerificationException;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkChannel;
import cn.huolala.lala.pay.cashier.desk.sdk.model.SdkNotification;
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
import cn.huolala.lala.pay.cashier.desk.sdk.sign.SignType;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.UnsupportedEncodingException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A merchant backend written against the Java SDK, driven by the project's end-to-end test
 * (test/e2e/java-sdk.test.ts): it receives notifications on its own HTTP server (verified with the SDK, answered
 * with the exact acknowledgement), creates an order, waits while the test pays it at the sandbox, queries it,
 * refunds part of it, downloads a statement, optionally pays out a transfer, and reports every step as one JSON
 * line on stdout.
 *
 * <p>Arguments: {@code gateway appId appKey signType outTradeNo amount refundAmount}.
 */
public final class EndToEndDriver {
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().serializeNulls().create();
    /** UTF-8 whatever the locale: the test parses these lines as JSON with Chinese messages in them. */
    private static final PrintStream OUT = utf8Stdout();
    private static final long WAIT_MILLIS = 150_000;

    private final LinkedBlockingQueue<SdkNotification> notifications = new LinkedBlockingQueue<SdkNotification>();
    private final List<SdkNotification> seen = new ArrayList<SdkNotification>();
    private final PaySdk sdk;

    private EndToEndDriver(PaySdk sdk) {
        this.sdk = sdk;
    }

    public static void main(String[] args) {
        try {
            if (args.length != 7) {
                throw new IllegalArgumentException("usage: EndToEndDriver gateway appId appKey signType outTradeNo amount refundAmount");
            }
            SignType signType = SignType.fromHeaderValue(args[3]);
            PaySdk sdk = new PaySdk(Gateway.of(args[0]), args[1], args[2], signType);
            new EndToEndDriver(sdk).run(args[4], Long.parseLong(args[5]), Long.parseLong(args[6]));
            System.exit(0);
        } catch (Throwable e) {
            emit("error", "type", e.getClass().getName(), "message", String.valueOf(e.getMessage()));
            e.printStackTrace();
            System.exit(1);
        }
    }

    private void run(String outTradeNo, long amount, long refundAmount) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/pay/notify", this::onNotification);
        server.start();
        try {
            String notifyUrl = "http://127.0.0.1:" + server.getAddress().getPort() + "/pay/notify?shop=java";
            emit("ready", "notifyUrl", notifyUrl);

            SdkUnifiedOrdersRequest request = new SdkUnifiedOrdersRequest(amount, "月卡会员", "会员充值", outTradeNo, "u-java");
            request.setNotifyUrl(notifyUrl);
            SdkUnifiedOrdersResponse order = sdk.unifiedOrder(request);
            List<Map<String, Object>> channels = new ArrayList<Map<String, Object>>();
            for (SdkChannel c : order.getChannels()) {
                channels.add(map("channelId", c.getChannelId(), "channelType", c.getChannelType(), "sceneCode", c.getSceneCode(), "sort", c.getSort()));
            }
            emit("order", "orderId", order.getOrderId(), "token", order.getToken(), "signatureVerified", sdk.verifyOrderSignature(order),
                    "signatureOutTradeNo", order.getSignature().getOutTradeNo(), "channels", channels);

            SdkUnifiedOrdersResponse again = sdk.unifiedOrder(request);
            emit("orderAgain", "orderId", again.getOrderId(), "token", again.getToken());
            SdkUnifiedOrdersRequest other = new SdkUnifiedOrdersRequest(amount + 1, "月卡会员", "会员充值", outTradeNo, "u-java");
            other.setNotifyUrl(notifyUrl);
            emitFailure("orderConflict", () -> sdk.unifiedOrder(other));

            emit("paymentList", "url", sdk.getPaymentListUrl(order));
            emit("queryBefore", "resultCode", sdk.queryOrder(outTradeNo).getResultCode());

            // the test pays at the sandbox now; the desk notifies this server
            SdkPaymentNotification paid = (SdkPaymentNotification) await(SdkNotification.PAYMENT_RESULT, outTradeNo);
            SdkQueryOrderResponse result = sdk.queryOrder(outTradeNo);
            emit("queryAfter", "resultCode", result.getResultCode(), "payTime", result.getPayTime(), "channelType", result.getChannelType(),
                    "channelId", result.getChannelId(), "mchId", result.getMchId(), "refundedAmount", result.getRefundedAmount(),
                    "notificationPayTime", paid.getPayTime());

            String outRefundNo = "R" + outTradeNo;
            SdkRefundResponse refund = sdk.refund(new SdkRefundRequest(outTradeNo, outRefundNo, refundAmount, "七天无理由"));
            emit("refund", "refundId", refund.getRefundId(), "outRefundNo", refund.getOutRefundNo(), "amount", refund.getAmount(), "status",
                    refund.getStatus());
            emitFailure("refundTooMuch", () -> sdk.refund(new SdkRefundRequest(outTradeNo, outRefundNo + "X", amount, "超额")));
            await(SdkNotification.REFUND_RESULT, outRefundNo);
            SdkRefundQueryResponse refunded = sdk.queryRefund(outRefundNo);
            emit("refundQuery", "status", refunded.getStatus(), "amount", refunded.getAmount(), "refundTime", refunded.getRefundTime(),
                    "channelType", refunded.getChannelType());
            emit("queryAfterRefund", "resultCode", sdk.queryOrder(outTradeNo).getResultCode(), "refundedAmount",
                    sdk.queryOrder(outTradeNo).getRefundedAmount());

            emitFailure("unknownOrder", () -> sdk.queryOrder("NO-SUCH-" + outTradeNo));
            SdkTransferRequest transfer = new SdkTransferRequest();
            transfer.setOutBizNo("W" + outTradeNo);
            transfer.setChannelType("ali-pay");
            transfer.setAmount(100L);
            transfer.setPayeeType("ALIPAY_LOGON_ID");
            transfer.setPayeeAccount("payee@example.com");
            transfer.setRemark("推广奖励");
            emitFailure("transferOff", () -> sdk.transfer(transfer));

            LocalDate today = LocalDate.now(ZoneId.of("Asia/Shanghai"));
            emitFailure("billToday", () -> sdk.downloadBill(today.toString()));
            // the test moves this order's payment and refund into a finished day, may enable transfers for the app,
            // and then says so on stdin: {"day":"yyyy-MM-dd","transfer":true|false}
            emit("awaitingBillDay");
            Map<?, ?> go = GSON.fromJson(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine(), Map.class);
            String day = (String) go.get("day");
            SdkStatement bill = sdk.downloadBill(day);
            List<Map<String, Object>> rows = new ArrayList<Map<String, Object>>();
            for (SdkStatement.Row r : bill.getRows()) {
                rows.add(map("type", r.getType(), "orderId", r.getOrderId(), "outTradeNo", r.getOutTradeNo(), "refundId", r.getRefundId(), "outRefundNo",
                        r.getOutRefundNo(), "channelType", r.getChannelType(), "amount", r.getAmount(), "time", r.getTime()));
            }
            emit("bill", "day", day, "rows", rows, "paymentCount", bill.getPaymentCount(), "paymentAmount", bill.getPaymentAmount(),
                    "refundCount", bill.getRefundCount(), "refundAmount", bill.getRefundAmount(), "netAmount", bill.getNetAmount(), "csvFirstLine",
                    bill.getCsv().split("\\r?\\n")[0]);

            if (Boolean.TRUE.equals(go.get("transfer"))) {
                SdkTransferRequest payout = new SdkTransferRequest();
                payout.setOutBizNo("T" + outTradeNo);
                payout.setChannelType("ali-pay");
                payout.setAmount(5000L);
                payout.setPayeeType("ALIPAY_LOGON_ID");
                payout.setPayeeAccount("payee@example.com");
                payout.setPayeeName("张三");
                payout.setRemark("推广奖励");
                payout.setNotifyUrl(notifyUrl);
                SdkTransferResponse t = sdk.transfer(payout);
                emit("transfer", "transferId", t.getTransferId(), "outBizNo", t.getOutBizNo(), "amount", t.getAmount(), "status", t.getStatus());
                await(SdkNotification.TRANSFER_RESULT, payout.getOutBizNo());
                SdkTransferResponse done = sdk.queryTransfer(payout.getOutBizNo());
                emit("transferQuery", "transferId", done.getTransferId(), "status", done.getStatus(), "transferTime", done.getTransferTime());
            }
            emit("done");
        } finally {
            server.stop(0);
        }
    }

    /** The notify endpoint: verify with the SDK, then acknowledge with the exact body, or refuse. */
    private void onNotification(HttpExchange exchange) throws IOException {
        byte[] raw = readAll(exchange.getRequestBody());
        String target = exchange.getRequestURI().getRawPath()
                + (exchange.getRequestURI().getRawQuery() != null ? "?" + exchange.getRequestURI().getRawQuery() : "");
        try {
            SdkNotification n = sdk.verifyNotification(exchange.getRequestMethod(), target, exchange.getRequestHeaders(), raw);
            Map<String, Object> line = map("eventType", n.getEventType(), "eventId", n.getEventId(), "attempt", n.getAttempt(), "resultCode",
                    n.getResultCode(), "path", target, "class", n.getClass().getSimpleName());
            if (n instanceof SdkPaymentNotification) {
                SdkPaymentNotification p = (SdkPaymentNotification) n;
                line.putAll(map("outTradeNo", p.getOutTradeNo(), "amount", p.getAmount(), "channelType", p.getChannelType(), "payTime", p.getPayTime()));
            } else if (n instanceof SdkRefundNotification) {
                SdkRefundNotification r = (SdkRefundNotification) n;
                line.putAll(map("outTradeNo", r.getOutTradeNo(), "outRefundNo", r.getOutRefundNo(), "amount", r.getAmount(), "refundTime",
                        r.getRefundTime()));
            } else if (n instanceof SdkTransferNotification) {
                SdkTransferNotification t = (SdkTransferNotification) n;
                line.putAll(map("outBizNo", t.getOutBizNo(), "transferId", t.getTransferId(), "amount", t.getAmount(), "transferTime", t.getTransferTime()));
            }
            emitMap("notification", line);
            notifications.add(n);
            byte[] ack = PaySdk.NOTIFICATION_ACK.getBytes(StandardCharsets.UTF_8);
            for (Map.Entry<String, String> h : sdk.answerHeaders(target, ack).entrySet()) {
                exchange.getResponseHeaders().set(h.getKey(), h.getValue());
            }
            answer(exchange, 200, ack);
        } catch (SignatureVerificationException e) {
            emit("rejected", "reason", e.getReason().name(), "code", e.getCode());
            answer(exchange, 401, ("{\"code\":" + e.getCode() + ",\"msg\":\"" + e.getMsg() + "\"}").getBytes(StandardCharsets.UTF_8));
        } catch (CashierDeskProtocolException e) {
            emit("malformed", "message", e.getMsg());
            answer(exchange, 400, "{\"code\":4000,\"msg\":\"通知格式错误\"}".getBytes(StandardCharsets.UTF_8));
        } catch (RuntimeException e) {
            emit("handlerError", "message", String.valueOf(e));
            answer(exchange, 500, "{\"code\":5000,\"msg\":\"商户处理失败\"}".getBytes(StandardCharsets.UTF_8));
        }
    }

    /** The first notification of this type about this order (payment) or refund, waiting for it if need be. */
    private SdkNotification await(String eventType, String key) throws InterruptedException {
        long deadline = System.currentTimeMillis() + WAIT_MILLIS;
        for (;;) {
            for (SdkNotification n : seen) {
                if (matches(n, eventType, key)) {
                    return n;
                }
            }
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                throw new IllegalStateException("no " + eventType + " notification for " + key + " within " + WAIT_MILLIS + " ms");
            }
            SdkNotification n = notifications.poll(left, TimeUnit.MILLISECONDS);
            if (n != null) {
                seen.add(n);
            }
        }
    }

    private static boolean matches(SdkNotification n, String eventType, String key) {
        if (!eventType.equals(n.getEventType())) {
            return false;
        }
        if (n instanceof SdkPaymentNotification) {
            return key.equals(((SdkPaymentNotification) n).getOutTradeNo());
        }
        if (n instanceof SdkTransferNotification) {
            return key.equals(((SdkTransferNotification) n).getOutBizNo());
        }
        return n instanceof SdkRefundNotification && key.equals(((SdkRefundNotification) n).getOutRefundNo());
    }

    private interface Call {
        Object run();
    }

    /** A call that must fail with a CashierDeskException: reports its code, or reports that it did not fail. */
    private static void emitFailure(String event, Call call) {
        try {
            call.run();
            emit(event, "failed", false);
        } catch (CashierDeskException e) {
            emit(event, "failed", true, "exception", e.getClass().getSimpleName(), "code", e.getCode(), "httpStatus", e.getHttpStatus(), "msg",
                    e.getMsg());
        }
    }

    private static PrintStream utf8Stdout() {
        try {
            return new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        } catch (UnsupportedEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void answer(HttpExchange exchange, int status, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        exchange.sendResponseHeaders(status, body.length);
        OutputStream out = exchange.getResponseBody();
        try {
            out.write(body);
        } finally {
            out.close();
        }
    }

    private static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf)) > 0) {
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    private static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<String, Object>();
        for (int i = 0; i + 1 < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    private static void emit(String event, Object... kv) {
        emitMap(event, map(kv));
    }

    private static synchronized void emitMap(String event, Map<String, Object> fields) {
        Map<String, Object> line = new LinkedHashMap<String, Object>();
        line.put("event", event);
        line.putAll(fields);
        OUT.println(GSON.toJson(line));
    }
}
