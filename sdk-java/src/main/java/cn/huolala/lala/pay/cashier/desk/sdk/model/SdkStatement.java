package cn.huolala.lala.pay.cashier.desk.sdk.model;

import java.util.Collections;
import java.util.List;

/** 对账单: one finished Asia/Shanghai day of the app's payments and successful refunds, verified before parsing. */
public class SdkStatement {
    /** One row (amounts in fen, times {@code yyyy-MM-dd HH:mm:ss} Asia/Shanghai). */
    public static final class Row {
        private final String type;
        private final long orderId;
        private final String outTradeNo;
        private final Long refundId;
        private final String outRefundNo;
        private final String channelType;
        private final String providerTradeNo;
        private final long amount;
        private final String time;

        public Row(String type, long orderId, String outTradeNo, Long refundId, String outRefundNo, String channelType, String providerTradeNo,
                long amount, String time) {
            this.type = type;
            this.orderId = orderId;
            this.outTradeNo = outTradeNo;
            this.refundId = refundId;
            this.outRefundNo = outRefundNo;
            this.channelType = channelType;
            this.providerTradeNo = providerTradeNo;
            this.amount = amount;
            this.time = time;
        }

        /** {@code PAYMENT} or {@code REFUND}. */
        public String getType() {
            return type;
        }

        public long getOrderId() {
            return orderId;
        }

        public String getOutTradeNo() {
            return outTradeNo;
        }

        public Long getRefundId() {
            return refundId;
        }

        public String getOutRefundNo() {
            return outRefundNo;
        }

        public String getChannelType() {
            return channelType;
        }

        public String getProviderTradeNo() {
            return providerTradeNo;
        }

        public long getAmount() {
            return amount;
        }

        public String getTime() {
            return time;
        }
    }

    private final String csv;
    private final List<Row> rows;
    private final long paymentCount;
    private final long paymentAmount;
    private final long refundCount;
    private final long refundAmount;
    private final long netAmount;

    public SdkStatement(String csv, List<Row> rows, long paymentCount, long paymentAmount, long refundCount, long refundAmount, long netAmount) {
        this.csv = csv;
        this.rows = Collections.unmodifiableList(rows);
        this.paymentCount = paymentCount;
        this.paymentAmount = paymentAmount;
        this.refundCount = refundCount;
        this.refundAmount = refundAmount;
        this.netAmount = netAmount;
    }

    /** The verified CSV as received. */
    public String getCsv() {
        return csv;
    }

    public List<Row> getRows() {
        return rows;
    }

    public long getPaymentCount() {
        return paymentCount;
    }

    public long getPaymentAmount() {
        return paymentAmount;
    }

    public long getRefundCount() {
        return refundCount;
    }

    public long getRefundAmount() {
        return refundAmount;
    }

    public long getNetAmount() {
        return netAmount;
    }
}
