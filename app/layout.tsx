import type { ReactNode } from "react";

export const metadata = { title: "orderpulse", description: "Real-time monitoring of e-commerce order streams" };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body style={{ fontFamily: "system-ui, sans-serif", margin: 0, background: "#0f172a", color: "#e2e8f0" }}>{children}</body>
    </html>
  );
}
