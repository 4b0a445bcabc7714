// Dashboard entry point (views are added in renderer/views).
export {};
