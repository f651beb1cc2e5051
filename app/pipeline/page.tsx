import { PipelineView } from "./pipeline-view.tsx";

export default function PipelinePage() {
  return <PipelineView />;
}
