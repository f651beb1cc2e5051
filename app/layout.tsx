import type { ReactNode } from "react";
import { dashboardEnvSchema, portsEnvSchema, readConfig, windowEnvSchema } from "../lib/contract/config.ts";
import { loadEnv } from "../workers/shared/env.ts";
import { Shell } from "./shell.tsx";
import "./globals.css";

export const metadata = { title: "orderpulse", description: "Real-time monitoring of e-commerce order streams" };
// The feed's address and the window size are read at request time, so one build serves any environment.
export const dynamic = "force-dynamic";

// Before first paint: the saved theme, so a light-theme user never sees a dark flash.
const THEME_SCRIPT = `try{var t=localStorage.getItem("orderpulse-theme");if(t==="light"||t==="dark")document.documentElement.dataset.theme=t}catch(e){}`;

export default function RootLayout({ children }: { children: ReactNode }) {
  const env = loadEnv();
  const { feedPort } = readConfig(portsEnvSchema, env);
  const { feedPublicUrl, secrets } = readConfig(dashboardEnvSchema, env);
  const { windowSizeMs } = readConfig(windowEnvSchema, env);
  return (
    <html lang="en" data-theme="dark" suppressHydrationWarning>
      <head>
        <script dangerouslySetInnerHTML={{ __html: THEME_SCRIPT }} />
      </head>
      <body>
        <Shell feed={{ port: feedPort, publicUrl: feedPublicUrl ?? null, windowSizeMs }} accessControl={secrets.length > 0}>{children}</Shell>
      </body>
    </html>
  );
}
