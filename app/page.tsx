import { LiveView } from "./live-view.tsx";

export default function LivePage() {
  return <LiveView />;
}
