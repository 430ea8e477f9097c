package desk.conformance;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the jest wrapper (test/integration/sandbox-conformance.test.ts) hands over: the sandboxes' URLs, the
 * merchants it created there, and key material as files in a temporary directory (never on a command line).
 */
final class Env {
  private Env() {}

  static String get(String name) {
    String v = System.getProperty("conformance." + name);
    if (v == null || v.isEmpty()) {
      throw new IllegalStateException(
          "system property conformance." + name + " is not set: run this suite through npx jest test/integration/sandbox-conformance.test.ts");
    }
    return v;
  }

  /** A property naming a file; the file's content. */
  static String file(String name) {
    try {
      return Files.readString(Path.of(get(name)), StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      throw new IllegalStateException("cannot read conformance." + name, e);
    }
  }

  /** PEM body without the armour lines: the form alipay-sdk-java takes keys in. */
  static String pemBody(String pem) {
    return pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
  }

  static String alipayUrl() { return get("alipay.url"); }
  static String alipayAppId() { return get("alipay.appId"); }
  /** PKCS#8 PEM. */
  static String alipayAppPrivateKey() { return file("alipay.appPrivateKeyFile"); }
  /** SPKI PEM of the sandbox's "Alipay" key. */
  static String alipayPublicKey() { return file("alipay.publicKeyFile"); }

  static String wechatUrl() { return get("wechat.url"); }
  static String wechatMchId() { return get("wechat.mchId"); }
  static String wechatAppId() { return get("wechat.appId"); }
  static String wechatMerchantSerial() { return get("wechat.merchantSerial"); }
  /** PKCS#8 PEM (apiclient_key.pem). */
  static String wechatMerchantPrivateKey() { return file("wechat.merchantPrivateKeyFile"); }
  static String wechatApiV3Key() { return file("wechat.apiV3KeyFile"); }
}
