Attribute VB_Name = "SopRibbon"
Option Explicit
' sop-excel ribbon callbacks. Source of truth: workbook_templates/ribbon/SopRibbon.bas in the
' sop-excel repository; `sop-excel template` builds it into the workbook. Do not edit it here.
'
' Every planning button of the S&OP tab calls SopRibbon. Its Tag, a fixed identifier written in
' customUI14.xml (never user data), names the action; Python does the work:
' sop_excel.xl.run(tag) runs the same function as the matching sop-excel command and shows
' what it did in a message box. RunPython is the xlwings module built into this workbook.

Public Sub SopRibbon(control As IRibbonControl)
    Dim tag As String
    tag = control.Tag
    ' Defence in depth: a tag is lower-case letters and underscores only.
    If Len(tag) = 0 Or tag Like "*[!a-z_]*" Then
        MsgBox "This button has no valid action tag: '" & tag & "'.", vbExclamation, "sop-excel"
        Exit Sub
    End If
    RunPython "import sop_excel.xl; sop_excel.xl.run('" & tag & "')"
End Sub

Public Sub SopImportFunctions(control As IRibbonControl)
    ' xlwings reads the UDF modules from the xlwings.conf sheet ("UDF Modules": udfs).
    ImportPythonUDFs
End Sub
