import { LakeExplorer } from "./lake-explorer.tsx";

export const metadata = { title: "Lake · orderpulse" };

/** The Lake SQL explorer: everything runs through /api/query (the bounded query runner). */
export default function LakePage() {
  return <LakeExplorer />;
}
