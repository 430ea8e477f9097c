package cn.huolala.lala.pay.cashier.desk.sdk.model;

import java.util.Collections;
import java.util.List;

/** {@code data} of the 下单 answer: the cashier token, the signature block and the channels on offer. */
public class SdkUnifiedOrdersResponse {
    /** 128-bit random, opaque; expires with the order. */
    private String token;
    /** The cashier desk's order id (opaque to the merchant). */
    private String orderId;
    private SdkOrderSignature signature;
    private List<SdkChannel> channels;

    public String getToken() {
        return token;
    }

    public String getOrderId() {
        return orderId;
    }

    /** Proof for the merchant's front end that the token came from the cashier desk (verified by the SDK). */
    public SdkOrderSignature getSignature() {
        return signature;
    }

    public List<SdkChannel> getChannels() {
        return channels == null ? Collections.<SdkChannel>emptyList() : channels;
    }
}
