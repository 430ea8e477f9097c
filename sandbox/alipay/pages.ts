/** zh-CN mobile pages of the simulated Alipay cashier (what the buyer sees after the redirect / scan). */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

function layout(title: string, content: string): string {
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, maximum-scale=1">
<title>${escapeHtml(title)}</title>
<style>
  body { margin: 0; font-family: -apple-system, "PingFang SC", "Microsoft YaHei", sans-serif; background: #f5f5f5; color: #333; }
  header { background: #1677ff; color: #fff; padding: 14px 16px; font-size: 17px; }
  main { padding: 16px; }
  .card { background: #fff; border-radius: 10px; padding: 20px 16px; margin-bottom: 16px; text-align: center; }
  .amount { font-size: 34px; font-weight: 600; margin: 10px 0; }
  .muted { color: #888; font-size: 14px; word-break: break-all; }
  button { display: block; width: 100%; border: 0; border-radius: 8px; padding: 13px; font-size: 17px; margin-bottom: 12px; }
  .primary { background: #1677ff; color: #fff; }
  .secondary { background: #fff; color: #333; border: 1px solid #ddd; }
  .sandbox { text-align: center; color: #aaa; font-size: 12px; }
</style>
</head>
<body>
<header>支付宝 · 收银台</header>
<main>
${content}
<p class="sandbox">本页面由本地支付宝沙箱生成，仅用于开发与测试</p>
</main>
</body>
</html>`;
}

export function payPage(p: { subject: string; amountYuan: string; outTradeNo: string; sellerName: string; payAction: string; cancelAction: string; notice?: string }): string {
  return layout(
    '确认付款',
    `<div class="card">
  <div class="muted">${escapeHtml(p.sellerName)}</div>
  <div class="amount" data-testid="amount">¥${escapeHtml(p.amountYuan)}</div>
  <div data-testid="subject">${escapeHtml(p.subject)}</div>
  <div class="muted">订单号 ${escapeHtml(p.outTradeNo)}</div>
  ${p.notice ? `<p class="muted" data-testid="notice">${escapeHtml(p.notice)}</p>` : ''}
</div>
<form method="post" action="${escapeHtml(p.payAction)}"><button class="primary" type="submit" data-testid="confirm">确认付款</button></form>
<form method="post" action="${escapeHtml(p.cancelAction)}"><button class="secondary" type="submit" data-testid="cancel">取消</button></form>`,
  );
}

export function resultPage(title: string, message: string, link?: { href: string; text: string }): string {
  return layout(
    title,
    `<div class="card">
  <h2 data-testid="result">${escapeHtml(title)}</h2>
  <p class="muted">${escapeHtml(message)}</p>
  ${link ? `<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.text)}</a></p>` : ''}
</div>`,
  );
}

export function errorPage(code: string, message: string): string {
  return resultPage('支付遇到问题', `错误代码 ${code}：${message}`);
}
